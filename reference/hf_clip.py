"""Hugging Face's CLIPModel, written here in plain PyTorch from the published design (transformers'
modeling_clip.py, eager attention) so fixtures need no `transformers`: the same module tree and state_dict keys
(text_model.*, vision_model.*, visual_projection, text_projection, logit_scale), pre-LN encoder layers,
quick_gelu / gelu, pre_layrnorm, class-token and end-of-text pooling, projections without bias.  The image
processor (CLIPImageProcessor: PIL bicubic shortest-edge resize, centre crop, rescale, normalise) is here too."""
import numpy as np
import torch
from torch import nn

TEXT_DEFAULTS = dict(vocab_size=49408, hidden_size=512, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=8,
                     max_position_embeddings=77, hidden_act="quick_gelu", layer_norm_eps=1e-5, eos_token_id=49407)
VISION_DEFAULTS = dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12, num_channels=3,
                       image_size=224, patch_size=32, hidden_act="quick_gelu", layer_norm_eps=1e-5)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


ACT = {"quick_gelu": QuickGELU, "gelu": nn.GELU}


class CLIPAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_dim, self.num_heads = c["hidden_size"], c["num_attention_heads"]
        self.head_dim = self.embed_dim // self.num_heads
        self.scale = self.head_dim ** -0.5
        self.k_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.v_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.q_proj = nn.Linear(self.embed_dim, self.embed_dim)
        self.out_proj = nn.Linear(self.embed_dim, self.embed_dim)

    def _shape(self, t, seq, bsz):
        return t.view(bsz, seq, self.num_heads, self.head_dim).transpose(1, 2).contiguous()

    def forward(self, h, attention_mask=None, causal_attention_mask=None):
        bsz, tgt, E = h.size()
        q = self.q_proj(h) * self.scale
        k = self._shape(self.k_proj(h), -1, bsz)
        v = self._shape(self.v_proj(h), -1, bsz)
        shape = (bsz * self.num_heads, -1, self.head_dim)
        q = self._shape(q, tgt, bsz).view(*shape)
        k, v = k.view(*shape), v.view(*shape)
        w = torch.bmm(q, k.transpose(1, 2))
        if causal_attention_mask is not None:
            w = (w.view(bsz, self.num_heads, tgt, tgt) + causal_attention_mask).view(bsz * self.num_heads, tgt, tgt)
        if attention_mask is not None:
            w = (w.view(bsz, self.num_heads, tgt, tgt) + attention_mask).view(bsz * self.num_heads, tgt, tgt)
        w = nn.functional.softmax(w, dim=-1)
        out = torch.bmm(w, v).view(bsz, self.num_heads, tgt, self.head_dim).transpose(1, 2).reshape(bsz, tgt, E)
        return self.out_proj(out)


class CLIPMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.activation_fn = ACT[c["hidden_act"]]()
        self.fc1 = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.fc2 = nn.Linear(c["intermediate_size"], c["hidden_size"])

    def forward(self, h):
        return self.fc2(self.activation_fn(self.fc1(h)))


class CLIPEncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = CLIPAttention(c)
        self.layer_norm1 = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        self.mlp = CLIPMLP(c)
        self.layer_norm2 = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, h, attention_mask, causal_attention_mask):
        r = h
        h = r + self.self_attn(self.layer_norm1(h), attention_mask, causal_attention_mask)
        r = h
        return r + self.mlp(self.layer_norm2(h))


class CLIPEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList([CLIPEncoderLayer(c) for _ in range(c["num_hidden_layers"])])

    def forward(self, h, attention_mask=None, causal_attention_mask=None):
        for layer in self.layers:
            h = layer(h, attention_mask, causal_attention_mask)
        return h


class CLIPTextEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.token_embedding = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.position_embedding = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.register_buffer("position_ids", torch.arange(c["max_position_embeddings"]).expand((1, -1)), persistent=False)

    def forward(self, input_ids):
        return self.token_embedding(input_ids) + self.position_embedding(self.position_ids[:, :input_ids.shape[-1]])


class CLIPVisionEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        E = c["hidden_size"]
        self.class_embedding = nn.Parameter(torch.randn(E))
        self.patch_embedding = nn.Conv2d(c["num_channels"], E, kernel_size=c["patch_size"], stride=c["patch_size"], bias=False)
        self.num_positions = (c["image_size"] // c["patch_size"]) ** 2 + 1
        self.position_embedding = nn.Embedding(self.num_positions, E)
        self.register_buffer("position_ids", torch.arange(self.num_positions).expand((1, -1)), persistent=False)

    def forward(self, pixel_values):
        B = pixel_values.shape[0]
        patch = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(B, 1, -1)
        return torch.cat([cls, patch], dim=1) + self.position_embedding(self.position_ids)


def causal_mask(bsz, T, dtype):
    m = torch.empty(bsz, T, T, dtype=dtype)
    m.fill_(torch.tensor(torch.finfo(dtype).min))
    m.triu_(1)
    return m.unsqueeze(1)


def expand_mask(mask, dtype, tgt):
    bsz, src = mask.size()
    expanded = mask[:, None, None, :].expand(bsz, 1, tgt, src).to(dtype)
    inverted = 1.0 - expanded
    return inverted.masked_fill(inverted.to(torch.bool), torch.finfo(dtype).min)


class CLIPTextTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.eos_token_id = c["eos_token_id"]
        self.embeddings = CLIPTextEmbeddings(c)
        self.encoder = CLIPEncoder(c)
        self.final_layer_norm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, input_ids, attention_mask=None):
        B, T = input_ids.shape
        h = self.embeddings(input_ids)
        causal = causal_mask(B, T, h.dtype)
        if attention_mask is not None:
            attention_mask = expand_mask(attention_mask, h.dtype, T)
        h = self.final_layer_norm(self.encoder(h, attention_mask, causal))
        if self.eos_token_id == 2:
            at = input_ids.to(dtype=torch.int).argmax(dim=-1)
        else:
            at = (input_ids.to(dtype=torch.int) == self.eos_token_id).int().argmax(dim=-1)
        return h[torch.arange(B), at]


class CLIPVisionTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        E = c["hidden_size"]
        self.embeddings = CLIPVisionEmbeddings(c)
        self.pre_layrnorm = nn.LayerNorm(E, eps=c["layer_norm_eps"])
        self.encoder = CLIPEncoder(c)
        self.post_layernorm = nn.LayerNorm(E, eps=c["layer_norm_eps"])

    def forward(self, pixel_values):
        h = self.encoder(self.pre_layrnorm(self.embeddings(pixel_values)))
        return self.post_layernorm(h[:, 0, :])


class CLIPModel(nn.Module):
    def __init__(self, config):
        super().__init__()
        t = {**TEXT_DEFAULTS, **config.get("text_config", {})}
        v = {**VISION_DEFAULTS, **config.get("vision_config", {})}
        P = config.get("projection_dim", 512)
        self.text_model = CLIPTextTransformer(t)
        self.vision_model = CLIPVisionTransformer(v)
        self.visual_projection = nn.Linear(v["hidden_size"], P, bias=False)
        self.text_projection = nn.Linear(t["hidden_size"], P, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(config.get("logit_scale_init_value", 2.6592)))

    def get_image_features(self, pixel_values):
        return self.visual_projection(self.vision_model(pixel_values))

    def get_text_features(self, input_ids, attention_mask=None):
        return self.text_projection(self.text_model(input_ids, attention_mask))

    def forward(self, input_ids, pixel_values, attention_mask=None):
        img = self.get_image_features(pixel_values)
        txt = self.get_text_features(input_ids, attention_mask)
        img = img / img.norm(p=2, dim=-1, keepdim=True)
        txt = txt / txt.norm(p=2, dim=-1, keepdim=True)
        logits_per_text = torch.matmul(txt, img.t()) * self.logit_scale.exp()
        return img, txt, logits_per_text.t(), logits_per_text


# ---- CLIPImageProcessor (transformers' image_processing_clip.py with its PIL resize) --------------------------

def process_image(pil_image, pp):
    """One PIL image -> float32 (3, crop_h, crop_w) as CLIPImageProcessor(**preprocessor_config) gives it."""
    from PIL import Image
    size = pp.get("size", 224)
    short = size["shortest_edge"] if isinstance(size, dict) else size
    crop = pp.get("crop_size", 224)
    ch, cw = (crop["height"], crop["width"]) if isinstance(crop, dict) else (crop, crop)
    img = pil_image.convert("RGB") if pp.get("do_convert_rgb", True) else pil_image
    if pp.get("do_resize", True):
        w, h = img.size
        s, l = (w, h) if w <= h else (h, w)
        ns, nl = short, int(short * l / s)
        ow, oh = (ns, nl) if w <= h else (nl, ns)
        img = img.resize((ow, oh), resample=pp.get("resample", 3), reducing_gap=None)
    a = np.asarray(img)  # (H, W, 3) uint8
    if pp.get("do_center_crop", True):
        H, W = a.shape[:2]
        top, left = (H - ch) // 2, (W - cw) // 2
        if top >= 0 and left >= 0 and top + ch <= H and left + cw <= W:
            a = a[top:top + ch, left:left + cw]
        else:  # transformers pads with zeros, ceil(d / 2) before, then slices from top + pad
            nh, nw = max(H, ch), max(W, cw)
            tp, lp = -(-(nh - H) // 2), -(-(nw - W) // 2)
            out = np.zeros((nh, nw, a.shape[2]), dtype=a.dtype)
            out[tp:tp + H, lp:lp + W] = a
            a = out[max(0, top + tp):min(nh, top + tp + ch), max(0, left + lp):min(nw, left + lp + cw)]
    x = a.astype(np.float32)
    if pp.get("do_rescale", True):
        x = (a.astype(np.float64) * pp.get("rescale_factor", 1 / 255)).astype(np.float32)
    if pp.get("do_normalize", True):
        mean = np.array(pp.get("image_mean", [0.48145466, 0.4578275, 0.40821073]), dtype=np.float32)
        std = np.array(pp.get("image_std", [0.26862954, 0.26130258, 0.27577711]), dtype=np.float32)
        x = (x - mean) / std
    return np.ascontiguousarray(x.transpose(2, 0, 1))

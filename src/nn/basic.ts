import * as core from "../core/index.js";
import { type Buf, empty, view, size } from "../core/index.js";
import { numel } from "../tensor.js";
import { Parameter, fill } from "./parameter.js";
import { Layer, expectShape, expectFloat } from "./layer.js";

/** nn.LayerNorm over the last dimension.  State: weight, bias (dim). */
export class LayerNorm extends Layer {
  weight: Parameter | null;
  bias: Parameter | null;
  constructor(
    readonly normalizedShape: number,
    readonly eps = 1e-5,
    elementwiseAffine = true,
  ) {
    super();
    this.weight = elementwiseAffine ? new Parameter([normalizedShape], "raw", fill(1)) : null;
    this.bias = elementwiseAffine ? new Parameter([normalizedShape], "raw", fill(0)) : null;
  }
  run(x: Buf): Buf {
    expectFloat("LayerNorm", x);
    expectShape(
      "LayerNorm",
      "input",
      x,
      x.shape[x.shape.length - 1] === this.normalizedShape,
      `(..., ${this.normalizedShape})`,
    );
    return core.layerNorm(x, this.weight, this.bias, this.eps);
  }
}

/**
 * nn.GroupNorm over (B, C, ...): each item's channels in `groups` groups, each group normalised over its channels and
 * positions (biased variance, eps inside the square root), then a per-channel affine.  State: weight, bias (C).
 */
export class GroupNorm extends Layer {
  weight: Parameter | null;
  bias: Parameter | null;
  constructor(
    readonly numGroups: number,
    readonly numChannels: number,
    readonly eps = 1e-5,
    affine = true,
  ) {
    super();
    if (!Number.isInteger(numGroups) || numGroups < 1 || numChannels % numGroups !== 0)
      throw new Error(`GroupNorm: num_channels (${numChannels}) must be divisible by num_groups (${numGroups})`);
    this.weight = affine ? new Parameter([numChannels], "raw", fill(1)) : null;
    this.bias = affine ? new Parameter([numChannels], "raw", fill(0)) : null;
  }
  run(x: Buf): Buf {
    expectFloat("GroupNorm", x);
    expectShape("GroupNorm", "input", x, x.shape.length >= 2 && x.shape[1] === this.numChannels, "(B, C, ...)");
    const [B, C] = x.shape,
      S = size(x) / (B * C),
      y = empty(x.shape);
    // a group's channels are contiguous in (B, C, ...): one row of (C / groups) * S values per (item, group)
    core.layerNormRows(x.ptr, y.ptr, B * this.numGroups, (C / this.numGroups) * S, 0, 0, this.eps);
    if (this.weight && this.bias) {
      const h = core.heap(),
        w = h.f32(this.weight.ptr, C).slice(),
        b = h.f32(this.bias.ptr, C).slice();
      for (let i = 0; i < B; i++)
        for (let c = 0; c < C; c++) {
          const at = y.ptr + (i * C + c) * S * 4;
          core.affine(at, at, S, w[c], b[c]);
        }
    }
    return y;
  }
}

export class ReLU extends Layer {
  run(x: Buf): Buf {
    return core.unaryInPlace("relu", x);
  }
}
export class Sigmoid extends Layer {
  run(x: Buf): Buf {
    return core.unaryInPlace("sigmoid", x);
  }
}
export class GELU extends Layer {
  run(x: Buf): Buf {
    return core.unaryInPlace("gelu", x);
  }
}
/**
 * nn.SiLU: x * sigmoid(x), as F.silu.
 * @example
 * new SiLU().forward(Tensor.from([-1, 0, 2])); // [-0.2689, 0, 1.7616]
 */
export class SiLU extends Layer {
  run(x: Buf): Buf {
    core.silu(x.ptr, x.ptr, core.size(x));
    return x;
  }
}
export class Tanh extends Layer {
  run(x: Buf): Buf {
    return core.unaryInPlace("tanh", x);
  }
}
/** Inference: dropout is the identity. */
export class Dropout extends Layer {
  constructor(readonly p = 0.5) {
    super();
  }
  run(x: Buf): Buf {
    return x;
  }
}
export class Identity extends Layer {
  run(x: Buf): Buf {
    return x;
  }
}

/** nn.Flatten(start_dim=1, end_dim=-1). */
export class Flatten extends Layer {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  run(x: Buf): Buf {
    const nd = x.shape.length;
    const s = this.startDim < 0 ? this.startDim + nd : this.startDim;
    const e = this.endDim < 0 ? this.endDim + nd : this.endDim;
    return view(x, [...x.shape.slice(0, s), numel(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)]);
  }
}

function pool(x: Buf, P: number, H: number, W: number, OH: number, OW: number): Buf {
  const y = empty([P * OH * OW]);
  core.adaptiveAvgPool(x.ptr, y.ptr, P, H, W, OH, OW);
  return y;
}

/** nn.AdaptiveAvgPool2d over (B, C, H, W). */
export class AdaptiveAvgPool2d extends Layer {
  readonly outputSize: [number, number];
  constructor(outputSize: number | [number, number]) {
    super();
    this.outputSize = typeof outputSize === "number" ? [outputSize, outputSize] : outputSize;
  }
  run(x: Buf): Buf {
    expectShape(
      "AdaptiveAvgPool2d",
      "input",
      x,
      x.shape.length >= 3 && x.shape[x.shape.length - 1] > 0 && x.shape[x.shape.length - 2] > 0,
      "(..., H, W) with H, W >= 1",
    );
    const [H, W] = x.shape.slice(-2);
    const [OH, OW] = this.outputSize;
    return view(pool(x, size(x) / (H * W), H, W, OH, OW), [...x.shape.slice(0, -2), OH, OW]);
  }
}

/** nn.AdaptiveAvgPool1d over (B, C, L). */
export class AdaptiveAvgPool1d extends Layer {
  constructor(readonly outputSize: number) {
    super();
  }
  run(x: Buf): Buf {
    expectShape(
      "AdaptiveAvgPool1d",
      "input",
      x,
      x.shape.length >= 2 && x.shape[x.shape.length - 1] > 0,
      "(..., L) with L >= 1",
    );
    const L = x.shape[x.shape.length - 1];
    return view(pool(x, size(x) / L, 1, L, 1, this.outputSize), [...x.shape.slice(0, -1), this.outputSize]);
  }
}

// jpeg-js's decoder alone (the package's index also loads its encoder, which polymodal does not use).
declare module "jpeg-js/lib/decoder.js" {
  const decode: typeof import("jpeg-js").decode;
  export default decode;
}

// jpeg-js's encoder (a devDependency path of a runtime dependency), used by tests to make JPEGs of any size.
declare module "jpeg-js/lib/encoder.js" {
  export default function encode(
    image: { data: Uint8Array; width: number; height: number },
    quality?: number,
  ): { data: Uint8Array; width: number; height: number };
}

export function writeSampleCollection(
  dir: string,
  counts?: { scenes?: number; sounds?: number; clips?: number; speech?: number },
): { images: Record<string, string>; sounds: Record<string, string>; videos: Record<string, string>; speech: Record<string, string> };

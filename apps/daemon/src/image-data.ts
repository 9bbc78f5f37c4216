import type { ImagePart } from '@shammah/provider';
import { InvalidRequestError } from './errors.js';

const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+)(?:;[\w-]+=[^;,]*)*;base64,(.*)$/s;

/**
 * An image given as a `data:` URL. Remote URLs are refused: the daemon fetches nothing on a client's
 * behalf.
 */
export function imageFromUrl(url: string, param: string): ImagePart {
  const match = DATA_URL.exec(url);
  if (!match) {
    throw new InvalidRequestError(
      `${param} must be a base64 data URL (data:image/png;base64,…); the daemon does not fetch images from ` +
        `"${url.slice(0, 60)}${url.length > 60 ? '…' : ''}".`,
      { param },
    );
  }
  return { type: 'image', mediaType: match[1]!, data: match[2]! };
}

// One string names any source, as on the command line (`edgeloop run --source ...`):
//   /data/frames            folder (replayed in name order)
//   '/data/frames/*.jpg'    glob (wildcards in the file name)
//   /data/cat.jpg           single image
//   /data/clip.mp4          video file through ffmpeg
//   http://cam:8080/stream  MJPEG over HTTP
//   v4l2:/dev/video0        V4L2 camera through ffmpeg
//   rtsp://cam/stream       RTSP through ffmpeg

import { stat } from 'node:fs/promises';
import { extname } from 'node:path';

import { SourceConfigError } from '../errors.js';
import { FfmpegSource } from './ffmpeg.js';
import { FolderSource, IMAGE_EXTENSIONS, hasGlob } from './folder.js';
import type { FrameSource } from './frame.js';
import { ImageSource } from './image.js';
import { MjpegHttpSource } from './mjpeg-http.js';

export type SourceKind = 'folder' | 'image' | 'video-file' | 'mjpeg-http' | 'v4l2' | 'rtsp';

export interface OpenSourceOptions {
  fps?: number;
  /** Folder, image and video file: start again at the end. */
  loop?: boolean;
  /** Camera capture size and pixel format (v4l2), e.g. the device profile's camera defaults. */
  camera?: { width?: number; height?: number; fps?: number; format?: string };
  /** Video files: deliver at the file's own rate instead of as fast as possible. */
  realtime?: boolean;
  headers?: Record<string, string>;
  ffmpegPath?: string;
}

export interface ParsedSource {
  kind: SourceKind;
  target: string;
}

export const VIDEO_EXTENSIONS = ['.mp4', '.mkv', '.avi', '.mov', '.webm', '.mjpeg', '.mjpg', '.h264', '.h265', '.ts'];

/** What a source string names; folders and files are told apart by looking at the disk. */
export async function parseSource(spec: string): Promise<ParsedSource> {
  if (/^https?:\/\//i.test(spec)) return { kind: 'mjpeg-http', target: spec };
  if (/^rtsps?:\/\//i.test(spec)) return { kind: 'rtsp', target: spec };
  if (spec.startsWith('v4l2:')) {
    const device = spec.slice('v4l2:'.length).replace(/^\/\/(?=\/)/, '');
    if (!device.startsWith('/dev/')) throw new SourceConfigError(`${spec}: expected v4l2:/dev/videoN`);
    return { kind: 'v4l2', target: device };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) throw new SourceConfigError(`${spec}: unknown scheme (http, https, rtsp, rtsps and v4l2: are supported)`);
  if (hasGlob(spec)) return { kind: 'folder', target: spec };
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(spec)).isDirectory();
  } catch {
    throw new SourceConfigError(`${spec}: no such file or directory`);
  }
  if (isDirectory) return { kind: 'folder', target: spec };
  const ext = extname(spec).toLowerCase();
  if (IMAGE_EXTENSIONS.includes(ext)) return { kind: 'image', target: spec };
  if (VIDEO_EXTENSIONS.includes(ext)) return { kind: 'video-file', target: spec };
  throw new SourceConfigError(`${spec}: not an image (${IMAGE_EXTENSIONS.join(' ')}) or video (${VIDEO_EXTENSIONS.join(' ')}) file`);
}

/** A fresh source for a parsed spec (call again to restart it). */
export function createSource(parsed: ParsedSource, options: OpenSourceOptions = {}): FrameSource {
  const fps = options.fps;
  switch (parsed.kind) {
    case 'folder':
      return new FolderSource({ path: parsed.target, ...(fps !== undefined ? { fps } : {}), loop: options.loop === true });
    case 'image':
      return new ImageSource({ path: parsed.target, ...(fps !== undefined ? { fps } : {}), loop: options.loop === true });
    case 'mjpeg-http':
      return new MjpegHttpSource({ url: parsed.target, ...(options.headers ? { headers: options.headers } : {}) });
    case 'v4l2': {
      const camera = options.camera ?? {};
      return new FfmpegSource({
        kind: 'v4l2',
        input: parsed.target,
        ...(camera.width !== undefined ? { width: camera.width } : {}),
        ...(camera.height !== undefined ? { height: camera.height } : {}),
        ...((fps ?? camera.fps) !== undefined ? { fps: fps ?? camera.fps } : {}),
        ...(camera.format !== undefined ? { pixelFormat: v4l2PixelFormat(camera.format) } : {}),
        ...(options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {}),
      });
    }
    case 'rtsp':
    case 'video-file':
      return new FfmpegSource({
        kind: parsed.kind === 'rtsp' ? 'rtsp' : 'file',
        input: parsed.target,
        ...(fps !== undefined ? { fps } : {}),
        realtime: options.realtime === true,
        loop: options.loop === true,
        ...(options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {}),
      });
  }
}

export async function openSource(spec: string, options: OpenSourceOptions = {}): Promise<FrameSource> {
  return createSource(await parseSource(spec), options);
}

// Device profiles name capture formats as v4l2 does ('mjpeg', 'yuyv422'); 'rgba' etc. are canvas formats, not v4l2.
function v4l2PixelFormat(format: string): string {
  return format === 'yuyv' ? 'yuyv422' : format;
}

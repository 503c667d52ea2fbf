import { pipeline, Transform } from 'node:stream';
import { redactUrl } from './redact.js';
import type { HttpResponse, Layer } from './types.js';

/**
 * `--debug`: one line per exchange — method, URL, status, time to headers, bytes, total time, attempt
 * and auth scheme — written when its body ends (or fails). Header values are never printed; secret-looking
 * query parameters are redacted.
 */
export function logging(log: (line: string) => void): Layer {
  return (next) => async (request) => {
    const started = performance.now();
    const elapsed = () => `${Math.round(performance.now() - started)} ms`;
    const scheme = request.headers.authorization?.split(' ')[0];
    const what = `${request.method} ${redactUrl(request.url)}`;
    const notes = (via?: string) => {
      const all = [
        request.attempt && request.attempt > 1 ? `attempt ${request.attempt}` : '',
        request.headers.range ? `range ${request.headers.range}` : '',
        via ?? '',
        scheme ? `auth ${scheme} ***` : '',
      ].filter(Boolean);
      return all.length ? ` (${all.join(', ')})` : '';
    };
    let response: HttpResponse;
    try {
      response = await next(request);
    } catch (error) {
      log(`${what} failed after ${elapsed()}: ${(error as Error).message}${notes()}`);
      throw error;
    }
    const suffix = notes(response.via);
    const headersAfter = elapsed();
    let bytes = 0;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        callback(null, chunk);
      },
    });
    pipeline(response.body, counted, (error) => {
      const outcome = error ? `body failed after ${bytes} B: ${error.message}` : `${bytes} B`;
      log(`${what} → ${response.status} (headers ${headersAfter}), ${outcome} in ${elapsed()}${suffix}`);
    });
    return { ...response, body: counted };
  };
}

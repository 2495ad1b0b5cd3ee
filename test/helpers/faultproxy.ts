/**
 * A fault-injecting HTTP proxy on 127.0.0.1 in front of an S3 server. Requests pass through
 * unless a rule matches; a rule fires on the next `times` matching requests, or on every
 * `every`-th one, and answers with an S3 error, drops the connection, or cuts an upload short.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './listen.js';

export type FaultKind =
  | 'internal-error' // 500 InternalError
  | 'unavailable' // 503 ServiceUnavailable
  | 'slowdown' // 503 SlowDown
  | 'access-denied' // 403 AccessDenied
  | 'bad-signature' // 403 SignatureDoesNotMatch
  | 'precondition-failed' // 412, as a server with conditional writes answers If-None-Match: *
  | 'reset' // destroy the client socket before anything reaches the server
  | 'cut-upload' // forward half the body, then destroy both connections
  | 'drop-response' // forward the whole request, then destroy the client socket unanswered
  | 'hang'; // never answer (the client's timeout must fire)

export interface FaultRule {
  fault: FaultKind;
  method?: string;
  /** Tested against the request path with its query string. */
  url?: RegExp;
  /** Fire on the next `times` matching requests (default 1; Infinity for a persistent fault). */
  times?: number;
  /** Instead of `times`: fire on every k-th matching request. */
  every?: number;
}

export interface ProxyLogEntry {
  method: string;
  url: string;
  fault?: FaultKind;
  /** performance.now() when the request arrived. */
  at: number;
  /** Body bytes: the request's (content-length) for a PUT, the answer's for anything else once it starts. */
  bytes?: number;
}

export interface FaultProxy {
  endpoint: string;
  log: ProxyLogEntry[];
  /** Most requests in flight at once since start (or the last clear). */
  maxInFlight: number;
  inject(rule: FaultRule): void;
  clear(): void;
  stop(): Promise<void>;
}

const ERRORS: Partial<Record<FaultKind, [number, string, string]>> = {
  'internal-error': [500, 'InternalError', 'We encountered an internal error. Please try again.'],
  unavailable: [503, 'ServiceUnavailable', 'Service is unable to handle request.'],
  slowdown: [503, 'SlowDown', 'Please reduce your request rate.'],
  'access-denied': [403, 'AccessDenied', 'Access Denied'],
  'bad-signature': [403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.'],
  'precondition-failed': [412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold'],
};

async function drain(req: IncomingMessage): Promise<void> {
  for await (const _ of req) void _;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const up = new URL(target);
  let rules: { rule: FaultRule; left: number; seen: number }[] = [];
  const log: ProxyLogEntry[] = [];
  let inFlight = 0;
  const state = { maxInFlight: 0 };
  const hung = new Set<ServerResponse>();

  function pick(req: IncomingMessage): FaultKind | undefined {
    for (const r of rules) {
      if (r.rule.method && r.rule.method !== req.method) continue;
      if (r.rule.url && !r.rule.url.test(req.url ?? '')) continue;
      r.seen++;
      if (r.rule.every) {
        if (r.seen % r.rule.every === 0) return r.rule.fault;
        continue;
      }
      if (r.left > 0) {
        r.left--;
        return r.rule.fault;
      }
    }
    return undefined;
  }

  function forward(req: IncomingMessage, res: ServerResponse, fault?: FaultKind, entry?: ProxyLogEntry): void {
    const upstream = httpRequest({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      if (entry && req.method !== 'PUT') entry.bytes = Number(ur.headers['content-length'] ?? 0);
      if (fault === 'drop-response') {
        ur.resume();
        ur.on('end', () => res.socket?.destroy());
        return;
      }
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.pipe(res);
    });
    upstream.on('error', () => res.socket?.destroy());
    if (fault !== 'cut-upload') {
      req.pipe(upstream);
      return;
    }
    const half = Math.floor(Number(req.headers['content-length'] ?? 0) / 2);
    let sent = 0;
    req.on('data', (chunk: Buffer) => {
      if (sent >= half) return;
      const take = chunk.subarray(0, half - sent);
      sent += take.length;
      upstream.write(take);
      if (sent >= half) {
        // let the bytes reach the server, then cut both sides
        setTimeout(() => {
          upstream.destroy();
          res.socket?.destroy();
        }, 20);
      }
    });
    if (half === 0) setTimeout(() => { upstream.destroy(); res.socket?.destroy(); }, 20);
  }

  const server = createServer((req, res) => {
    // In flight until the answer starts: after that the client may already send its next request.
    inFlight++;
    state.maxInFlight = Math.max(state.maxInFlight, inFlight);
    let counted = true;
    const answered = () => {
      if (counted) inFlight--;
      counted = false;
    };
    const writeHead = res.writeHead.bind(res) as (...a: unknown[]) => ServerResponse;
    res.writeHead = ((...a: unknown[]) => {
      answered();
      return writeHead(...a);
    }) as typeof res.writeHead;
    res.on('close', answered);
    const fault = pick(req);
    const entry: ProxyLogEntry = { method: req.method ?? '', url: req.url ?? '', fault, at: performance.now() };
    if (req.method === 'PUT') entry.bytes = Number(req.headers['content-length'] ?? 0);
    log.push(entry);
    if (!fault) return forward(req, res, undefined, entry);
    const err = ERRORS[fault];
    if (err) {
      void drain(req).then(() => {
        const [code, name, message] = err;
        const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${name}</Code><Message>${message}</Message><RequestId>fault</RequestId></Error>`;
        res.writeHead(code, { 'content-type': 'application/xml', 'content-length': req.method === 'HEAD' ? 0 : Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      });
      return;
    }
    if (fault === 'reset') return void req.socket.destroy();
    if (fault === 'hang') return void hung.add(res);
    forward(req, res, fault);
  });
  const port = await listenOnLoopback(server);

  return {
    endpoint: `http://127.0.0.1:${port}`,
    log,
    get maxInFlight() {
      return state.maxInFlight;
    },
    inject(rule) {
      rules.push({ rule, left: rule.times ?? 1, seen: 0 });
    },
    clear() {
      rules = [];
      log.length = 0;
      state.maxInFlight = 0;
    },
    async stop() {
      for (const r of hung) r.socket?.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExpositionFormat } from './exposition-format.js';

/** Handles one request to a registered path. Throwing (or rejecting) answers 500. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** One path served by a component on the daemon's HTTP server (`web-addr`). */
export interface Route {
  /**
   * Who serves it: the component's instance name (`prometheus`, `http.main`). A new
   * instance of the same name, started by a reload before the old one stops, takes the
   * path over; another owner cannot.
   */
  readonly owner: string;
  /** Exact path, e.g. `/metrics` or `/v2/raw` (the query string is not part of it). */
  readonly path: string;
  /** Methods answered; others get 405 with an `Allow` header. `HEAD` is not implied. */
  readonly methods: readonly string[];
  /**
   * Whether the route reads request bodies. Without it a request with a body is answered
   * 413 at once and the connection closed, unread.
   */
  readonly acceptsBody?: boolean;
  readonly handler: RouteHandler;
}

/**
 * RouteRegistry lets a component (a backend serving an exposition, a receiver taking
 * forwarded data) serve paths on the daemon's HTTP server without that server knowing
 * it. `register` throws when another owner serves the path; the returned function
 * removes the route unless a newer registration took it over (call it at shutdown).
 */
export interface RouteRegistry {
  register(route: Route): () => void;
  /**
   * Adds families to the server's own `/metrics` page, after the daemon's self-metrics,
   * in the format the scraper negotiated. The same owner replaces its earlier source; the returned
   * function removes it unless a newer one took its place.
   */
  extendMetrics(source: MetricsSource): () => void;
}

/** Families a component appends to the daemon's `/metrics` page. */
export interface MetricsSource {
  readonly owner: string;
  /**
   * Writes families in `format` to `res` (headers are sent already; for OpenMetrics the
   * page's `# EOF` is the server's), respecting back-pressure.
   */
  write(res: ServerResponse, format: ExpositionFormat): Promise<void>;
}

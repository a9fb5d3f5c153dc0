// A typed Linli client: openapi-fetch over the types openapi-typescript generates from /openapi.json
// (`npm run generate` writes src/schema.d.ts). Every path, parameter, body and answer below is checked
// by `tsc --strict`; a field renamed on the server fails this build, not the app at run time.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type ErrorBody = Schemas["ErrorBody"];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(`${status} ${body.error.code}: ${body.error.message}`);
  }
}

export function connect(baseUrl: string, token: () => string | undefined) {
  const client = createClient<paths>({ baseUrl, headers: { "Accept-Language": "zh-CN" } });
  const bearer: Middleware = {
    onRequest({ request }) {
      const t = token();
      if (t) request.headers.set("Authorization", `Bearer ${t}`);
      return request;
    },
  };
  client.use(bearer);
  return client;
}

/** The answer's data, or an ApiError carrying the one error body every failure has. */
export async function ok<T>(
  call: Promise<{ data?: T; error?: ErrorBody | unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || data === undefined) {
    throw new ApiError(response.status, error as ErrorBody);
  }
  return data;
}

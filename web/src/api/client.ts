// The typed API client: openapi-fetch over the types openapi-typescript generated from the
// API's OpenAPI document (schema.d.ts; regenerate with `npm run generate`, never edit it).
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Problem = Schemas["Problem"];
export type Booking = Schemas["BookingView"];
export type EventType = Schemas["EventTypeView"];
export type Slot = Schemas["SlotView"];
export type CheckoutSession = Schemas["CheckoutSessionResponse"];
export type Confirmation = Schemas["ConfirmResponse"];
export type Cancellation = Schemas["CancellationView"];
export type NoShowState = Schemas["NoShowState"];
export type NoShowReport = Schemas["NoShowView"];
export type ApiClient = Client<paths>;

/** A client that sends `token` as the Bearer credential on every call. */
export function apiClient(token: string, baseUrl = ""): ApiClient {
  const client = createClient<paths>({ baseUrl });
  client.use({
    onRequest({ request }) {
      request.headers.set("Authorization", `Bearer ${token}`);
      return request;
    },
  });
  return client;
}

/** Every error body is a problem document; anything else (a proxy's page) becomes one. */
export function asProblem(error: unknown, response: Response): Problem {
  if (error && typeof error === "object" && "title" in error && "status" in error) {
    return error as Problem;
  }
  return { type: "about:blank", title: response.statusText || "Error", status: response.status };
}

/** The refused fields of a 422, by field path (e.g. "attendee.email"). */
export function fieldErrors(problem: Problem | null): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const error of problem?.errors ?? []) {
    fields[error.field] ??= error.msg.replace(/^Value error, /, "");
  }
  return fields;
}

export function problemText(problem: Problem): string {
  return problem.detail ? `${problem.title}: ${problem.detail}` : problem.title;
}

// The public JSON API, as the console calls it. The key lives in this tab's session storage only and
// travels only in the Authorization header: never in a URL (logs, history, referrers) or a cookie.

const STORAGE = "timeline-console-key";

export const key = {
  get: () => sessionStorage.getItem(STORAGE),
  set: (value) => sessionStorage.setItem(STORAGE, value),
  clear: () => sessionStorage.removeItem(STORAGE),
};

/** A refusal of the API in words: its problem's `detail`, or the status when it sent none. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `The server answered ${status}.`);
    this.status = status;
    this.kind = problem?.type ?? null;
  }
}

/** A request to the API with the key; the parsed JSON answer (null for 204), or an ApiError. */
export async function call(method, path, body, token = key.get()) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
    });
  } catch {
    throw new ApiError(0, { detail: "The service cannot be reached; is it running?" });
  }
  if (response.status === 204) return null;
  const parsed = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

export const timelinePath = (id) => `/api/v1/timelines/${encodeURIComponent(id)}`;

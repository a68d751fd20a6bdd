// Where the page finds the API, its credentials and Stripe. `mentorpay demo` serves
// /app-config.json; a real deployment serves its own (tokens come from its sign-in).
export interface AppConfig {
  apiBaseUrl: string;
  userToken: string;
  mentorToken: string;
  /** An administrator's token: with it, the page offers the open no-show claims. */
  adminToken?: string | null;
  publishableKey: string;
  /** Load this script as Stripe.js first (the sandbox's stand-in); null = real Stripe.js. */
  stripeJsUrl: string | null;
}

export async function loadConfig(): Promise<AppConfig> {
  const response = await fetch("/app-config.json");
  if (!response.ok) throw new Error(`app-config.json: ${response.status}`);
  return (await response.json()) as AppConfig;
}

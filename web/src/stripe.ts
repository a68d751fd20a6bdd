import type { Stripe } from "@stripe/stripe-js";
import { loadStripe } from "@stripe/stripe-js/pure";

/** Stripe.js, loaded once. With `stripeJsUrl` that script is loaded first and defines
 * window.Stripe, which loadStripe then uses as it would use Stripe's own. */
export function stripeLoader(publishableKey: string, stripeJsUrl: string | null) {
  let loaded: Promise<Stripe | null> | null = null;
  return (): Promise<Stripe | null> => {
    loaded ??= (stripeJsUrl ? injectScript(stripeJsUrl) : Promise.resolve()).then(() =>
      loadStripe(publishableKey),
    );
    return loaded;
  };
}

function injectScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = () => resolve();
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.appendChild(script);
  });
}

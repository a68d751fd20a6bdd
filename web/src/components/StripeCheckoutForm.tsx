// Stripe's embedded Checkout for a checkout session, then confirmBooking once it is paid:
// the same code runs against real Stripe.js and against the sandbox's stand-in.
import { EmbeddedCheckout, EmbeddedCheckoutProvider } from "@stripe/react-stripe-js";
import type { Stripe } from "@stripe/stripe-js";
import { useMemo, useState } from "react";
import { asProblem, problemText, type ApiClient, type Confirmation } from "../api/client";

interface Props {
  api: ApiClient;
  stripe: Promise<Stripe | null>;
  clientSecret: string;
  checkoutSessionId: string;
  onConfirmed: (confirmation: Confirmation) => void;
}

export function StripeCheckoutForm({
  api,
  stripe,
  clientSecret,
  checkoutSessionId,
  onConfirmed,
}: Props) {
  const [state, setState] = useState<"paying" | "confirming" | string>("paying");
  // The provider accepts its options once: keep them stable across renders.
  const options = useMemo(
    () => ({
      clientSecret,
      onComplete: async () => {
        setState("confirming");
        const { data, error, response } = await api.POST("/api/bookings/confirm", {
          body: { checkoutSessionId },
        });
        if (data) onConfirmed(data);
        else setState(problemText(asProblem(error, response)));
      },
    }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [clientSecret],
  );
  return (
    <section className="card" aria-labelledby="pay-title">
      <h1 id="pay-title">Pay for your session</h1>
      {state === "confirming" && <p aria-live="polite">Payment received; confirming your booking…</p>}
      {state !== "paying" && state !== "confirming" && (
        <p role="alert" className="error">{state}</p>
      )}
      <div id="checkout" hidden={state !== "paying"}>
        <EmbeddedCheckoutProvider stripe={stripe} options={options}>
          <EmbeddedCheckout />
        </EmbeddedCheckoutProvider>
      </div>
    </section>
  );
}

// Stripe's embedded Checkout for a checkout session, then confirmBooking once it is paid:
// the same code runs against real Stripe.js and against the sandbox's stand-in.
import { EmbeddedCheckout, EmbeddedCheckoutProvider } from "@stripe/react-stripe-js";
import type { Stripe } from "@stripe/stripe-js";
import { useMemo, useRef, useState } from "react";
import { asProblem, problemText, type ApiClient, type Confirmation } from "../api/client";

interface Props {
  api: ApiClient;
  stripe: Promise<Stripe | null>;
  clientSecret: string;
  checkoutSessionId: string;
  onConfirmed: (confirmation: Confirmation) => void;
}

type Phase = { name: "paying" } | { name: "confirming" } | { name: "failed"; message: string };

export function StripeCheckoutForm(props: Props) {
  const [phase, setPhase] = useState<Phase>({ name: "paying" });
  // The provider takes its options once, so they must not change between renders; the
  // latest props are read through a ref when the payment completes.
  const latest = useRef(props);
  latest.current = props;
  const options = useMemo(
    () => ({
      clientSecret: props.clientSecret,
      onComplete: async () => {
        const { api, checkoutSessionId, onConfirmed } = latest.current;
        setPhase({ name: "confirming" });
        const { data, error, response } = await api.POST("/api/bookings/confirm", {
          body: { checkoutSessionId },
        });
        if (data) onConfirmed(data);
        else setPhase({ name: "failed", message: problemText(asProblem(error, response)) });
      },
    }),
    [props.clientSecret],
  );
  return (
    <section className="card" aria-labelledby="pay-title">
      <h1 id="pay-title">Pay for your session</h1>
      {phase.name === "confirming" && (
        <p aria-live="polite">Payment received; confirming your booking…</p>
      )}
      {phase.name === "failed" && (
        <p role="alert" className="error">
          {phase.message}
        </p>
      )}
      <div id="checkout" hidden={phase.name !== "paying"}>
        <EmbeddedCheckoutProvider stripe={props.stripe} options={options}>
          <EmbeddedCheckout />
        </EmbeddedCheckoutProvider>
      </div>
    </section>
  );
}

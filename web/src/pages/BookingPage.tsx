import { useState } from "react";
import type { ApiClient, CheckoutSession, EventType } from "../api/client";
import { BookingEmbed } from "../components/BookingEmbed";
import { StripeCheckoutForm } from "../components/StripeCheckoutForm";
import { money } from "../format";
import type { Stripe } from "@stripe/stripe-js";

interface Props {
  api: ApiClient;
  eventTypes: EventType[];
  stripe: () => Promise<Stripe | null>;
}

export function BookingPage({ api, eventTypes, stripe }: Props) {
  const [checkout, setCheckout] = useState<{ session: CheckoutSession; type: EventType } | null>(
    null,
  );
  if (!checkout) {
    return (
      <BookingEmbed
        api={api}
        eventTypes={eventTypes}
        onCheckout={(session, type) => setCheckout({ session, type })}
      />
    );
  }
  const { session, type } = checkout;
  return (
    <>
      <p className="muted">
        {type.title} with {type.mentor.name}: {money(session.amount, session.currency)}.{" "}
        <button type="button" className="link" onClick={() => setCheckout(null)}>
          Choose another time
        </button>
      </p>
      <StripeCheckoutForm
        api={api}
        stripe={stripe()}
        clientSecret={session.client_secret}
        checkoutSessionId={session.checkoutSessionId}
        onConfirmed={() =>
          // A real navigation: Back from the confirmation loads a fresh booking page (main.tsx
          // reloads one restored from the back-forward cache), never a payable-looking checkout.
          window.location.assign(
            `/return?session_id=${encodeURIComponent(session.checkoutSessionId)}`,
          )
        }
      />
    </>
  );
}

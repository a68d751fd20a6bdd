import type { Booking, NoShowState } from "./api/client";
import { money } from "./format";

/** A booking's status in words, for a person. */
export function statusWords(booking: Booking): string {
  const paid = booking.payment;
  switch (booking.status) {
    case "AWAITING_PAYMENT":
      return "Not paid yet";
    case "PENDING":
      return "Paid; being booked";
    case "ACCEPTED":
      return "Booked";
    case "REJECTED":
      return paid ? `Could not be booked; ${refundWords(booking)}` : "Could not be booked";
    case "EXPIRED":
      return "Checkout expired; nothing was charged";
    case "CANCELLED":
      return paid && paid.amountRefunded > 0
        ? `Cancelled; ${money(paid.amountRefunded, paid.currency)} refunded`
        : "Cancelled";
    default:
      return booking.status;
  }
}

export function refundWords(booking: Booking): string {
  const paid = booking.payment;
  if (!paid) return "nothing was charged";
  const amount = money(paid.amount, paid.currency);
  return paid.amountRefunded >= paid.amount
    ? `your payment of ${amount} has been refunded`
    : `your payment of ${amount} is being refunded`;
}

export const SETTLED = new Set(["ACCEPTED", "REJECTED", "EXPIRED", "CANCELLED"]);

/** A recorded no-show and where its claim stands, in words for the attendee or the mentor. */
export function noShowWords(state: NoShowState, viewer: "attendee" | "mentor"): string {
  const you = viewer === "attendee";
  if (state.party === "attendee") {
    return you
      ? "Recorded that you did not attend; the session is paid to the mentor."
      : "Recorded that the attendee did not attend; you are paid for the session.";
  }
  switch (state.outcome) {
    case "claim_open":
      return you
        ? "You reported that the mentor did not show. An administrator is reviewing the claim; the mentor is not paid meanwhile."
        : "The attendee reported that you did not show. An administrator is reviewing the claim; your payout is held meanwhile.";
    case "refund":
      return you
        ? "The mentor did not show; your payment is refunded in full."
        : "Recorded that you did not show; the attendee is refunded in full.";
    case "release":
      return you
        ? "Your claim that the mentor did not show was reviewed and declined; the session is paid to the mentor."
        : "The attendee's claim that you did not show was declined; you are paid for the session.";
    default:
      return `No-show of the ${state.party} recorded (${state.outcome}).`;
  }
}

import type { Booking } from "./api/client";
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

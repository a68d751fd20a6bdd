import { useEffect, useMemo, useState } from "react";
import { apiClient, asProblem, problemText, type EventType } from "./api/client";
import type { AppConfig } from "./config";
import { BookingPage } from "./pages/BookingPage";
import { ClaimsPage } from "./pages/ClaimsPage";
import { MentorPage } from "./pages/MentorPage";
import { MyBookingsPage } from "./pages/MyBookingsPage";
import { ReturnPage } from "./pages/ReturnPage";
import { stripeLoader } from "./stripe";

const PAGES = [
  { path: "/", label: "Book" },
  { path: "/bookings", label: "My bookings" },
  { path: "/mentor", label: "Mentor" },
];
const ADMIN_PAGES = [{ path: "/claims", label: "Claims" }];

export function App({ config }: { config: AppConfig }) {
  const path = window.location.pathname;
  const user = useMemo(() => apiClient(config.userToken, config.apiBaseUrl), [config]);
  const mentor = useMemo(() => apiClient(config.mentorToken, config.apiBaseUrl), [config]);
  const admin = useMemo(
    () => (config.adminToken ? apiClient(config.adminToken, config.apiBaseUrl) : null),
    [config],
  );
  const pages = admin ? [...PAGES, ...ADMIN_PAGES] : PAGES;
  const stripe = useMemo(
    () => stripeLoader(config.publishableKey, config.stripeJsUrl),
    [config],
  );
  const [eventTypes, setEventTypes] = useState<EventType[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void user.GET("/api/event-types").then(({ data, error: failure, response }) => {
      if (data) setEventTypes(data);
      else setError(problemText(asProblem(failure, response)));
    });
  }, [user]);

  let page = null;
  if (eventTypes) {
    if (path === "/return") {
      const sessionId = new URLSearchParams(window.location.search).get("session_id");
      page = <ReturnPage api={user} eventTypes={eventTypes} sessionId={sessionId} />;
    } else if (path === "/bookings") {
      page = <MyBookingsPage api={user} eventTypes={eventTypes} />;
    } else if (path === "/mentor") {
      page = <MentorPage api={mentor} eventTypes={eventTypes} />;
    } else if (path === "/claims" && admin) {
      page = <ClaimsPage api={admin} eventTypes={eventTypes} />;
    } else {
      page = <BookingPage api={user} eventTypes={eventTypes} stripe={stripe} />;
    }
  }
  return (
    <>
      <header>
        <a className="brand" href="/">
          mentorpay
        </a>
        <nav aria-label="Main">
          {pages.map((entry) => (
            <a key={entry.path} href={entry.path} aria-current={entry.path === path ? "page" : undefined}>
              {entry.label}
            </a>
          ))}
        </nav>
      </header>
      <main>
        {error && <p role="alert" className="error">{error}</p>}
        {!eventTypes && !error && <p aria-live="polite">Loading…</p>}
        {page}
      </main>
    </>
  );
}

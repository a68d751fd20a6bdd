import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";
import { loadConfig } from "./config";
import "./styles.css";

// A page restored from the back-forward cache would show the state it was left in (a checkout
// already paid): load it afresh instead.
window.addEventListener("pageshow", (event) => {
  if (event.persisted) window.location.reload();
});

const root = createRoot(document.getElementById("root")!);
loadConfig().then(
  (config) =>
    root.render(
      <StrictMode>
        <App config={config} />
      </StrictMode>,
    ),
  (error: unknown) => root.render(<p role="alert">Could not start: {String(error)}</p>),
);

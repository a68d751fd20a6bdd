/*
 * The sandbox's stand-in for Stripe.js (https://js.stripe.com), served at /_sandbox/stripe.js.
 *
 * It implements what embedded Checkout needs, with Stripe.js's names and rules, so that
 * @stripe/stripe-js's loadStripe() and @stripe/react-stripe-js's EmbeddedCheckoutProvider and
 * EmbeddedCheckout run unchanged against it: Stripe(publishableKey), createEmbeddedCheckoutPage
 * (and its older name initEmbeddedCheckout) with clientSecret or fetchClientSecret and
 * onComplete, then mount(element or selector), unmount() and destroy(). The form itself is the
 * sandbox's checkout page in an iframe; it tells this script when the payment went through.
 */
(function () {
  "use strict";
  var here = document.currentScript && document.currentScript.src;
  var origin = here ? new URL(here).origin : window.location.origin;
  var active = null; // Stripe.js allows one embedded checkout on a page at a time

  function StripeError(message) {
    var error = new Error(message);
    error.name = "IntegrationError";
    return error;
  }

  function sessionIdOf(clientSecret) {
    var match = /^(cs_(?:test|live)_[A-Za-z0-9]+)_secret_[A-Za-z0-9]+$/.exec(clientSecret || "");
    if (!match) throw StripeError("Invalid client secret: " + clientSecret);
    return match[1];
  }

  function EmbeddedCheckout(clientSecret, onComplete) {
    this._sessionId = sessionIdOf(clientSecret);
    this._onComplete = onComplete;
    this._frame = null;
    this._destroyed = false;
    this._listener = this._receive.bind(this);
    window.addEventListener("message", this._listener);
  }

  EmbeddedCheckout.prototype._receive = function (event) {
    var data = event.data || {};
    if (event.origin !== origin || data.sessionId !== this._sessionId) return;
    if (data.type === "sandbox-checkout:resize" && this._frame) {
      this._frame.style.height = Math.max(200, Number(data.height) || 0) + "px";
    } else if (data.type === "sandbox-checkout:complete") {
      // As Stripe: onComplete when given (redirect_on_completion "if_required"), else go to the
      // session's return_url.
      if (typeof this._onComplete === "function") this._onComplete();
      else if (data.redirectUrl) window.location.assign(data.redirectUrl);
    }
  };

  EmbeddedCheckout.prototype.mount = function (target) {
    if (this._destroyed) throw StripeError("This Embedded Checkout instance has been destroyed.");
    if (this._frame) throw StripeError("Embedded Checkout is already mounted.");
    var element = typeof target === "string" ? document.querySelector(target) : target;
    if (!element || !element.appendChild) {
      throw StripeError("mount() needs a DOM element or a CSS selector that finds one.");
    }
    var frame = document.createElement("iframe");
    frame.src = origin + "/_sandbox/checkout/" + encodeURIComponent(this._sessionId) + "?embedded=1";
    frame.title = "Secure checkout (Stripe sandbox)";
    frame.name = "embedded-checkout";
    frame.setAttribute("allow", "payment");
    frame.style.cssText = "width:100%;height:520px;border:0;display:block;background:transparent";
    element.appendChild(frame);
    this._frame = frame;
  };

  EmbeddedCheckout.prototype.unmount = function () {
    if (this._destroyed) throw StripeError("This Embedded Checkout instance has been destroyed.");
    if (this._frame) {
      this._frame.remove();
      this._frame = null;
    }
  };

  EmbeddedCheckout.prototype.destroy = function () {
    if (this._frame) this._frame.remove();
    this._frame = null;
    this._destroyed = true;
    window.removeEventListener("message", this._listener);
    if (active === this) active = null;
  };

  function Stripe(publishableKey) {
    if (!(this instanceof Stripe)) return new Stripe(publishableKey);
    if (typeof publishableKey !== "string" || !/^pk_(test|live)_/.test(publishableKey)) {
      throw StripeError("Invalid API Key provided: " + publishableKey);
    }
    this._publishableKey = publishableKey;
  }

  Stripe.version = 3;

  // Present so that wrappers recognise a Stripe instance; only embedded Checkout is emulated.
  ["elements", "createToken", "createPaymentMethod", "confirmCardPayment"].forEach(function (name) {
    Stripe.prototype[name] = function () {
      throw StripeError("Stripe." + name + " is not emulated by the sandbox's Stripe.js.");
    };
  });
  Stripe.prototype._registerWrapper = function () {};
  Stripe.prototype.registerAppInfo = function () {};

  Stripe.prototype.createEmbeddedCheckoutPage = function (options) {
    options = options || {};
    var hasSecret = typeof options.clientSecret === "string";
    var hasFetch = typeof options.fetchClientSecret === "function";
    if (hasSecret === hasFetch) {
      return Promise.reject(
        StripeError("Pass exactly one of clientSecret and fetchClientSecret."),
      );
    }
    if (active) {
      return Promise.reject(
        StripeError("You cannot have multiple Embedded Checkout objects; destroy() the first."),
      );
    }
    var secret = hasSecret ? Promise.resolve(options.clientSecret) : options.fetchClientSecret();
    return Promise.resolve(secret).then(function (clientSecret) {
      if (active) throw StripeError("You cannot have multiple Embedded Checkout objects.");
      active = new EmbeddedCheckout(clientSecret, options.onComplete);
      return active;
    });
  };
  Stripe.prototype.initEmbeddedCheckout = Stripe.prototype.createEmbeddedCheckoutPage;

  window.Stripe = Stripe;
})();

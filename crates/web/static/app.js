// Mercato storefront enhancements. Every page works without this file:
// forms post and the server redirects. With it, adding to the cart stays
// on the page, the variant picker shows its price, orders update live,
// and Stripe payments are confirmed by Stripe.js.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Variant picker: the big price follows the chosen variant.
  for (const form of document.querySelectorAll("form.add-to-cart")) {
    const price = document.querySelector("[data-price]");
    form.addEventListener("change", (event) => {
      const chosen = event.target;
      if (price && chosen.name === "variant_id" && chosen.dataset.price) {
        price.textContent = chosen.dataset.price;
      }
    });
  }

  // Add to cart without leaving the page.
  for (const form of document.querySelectorAll("form[data-enhance=cart]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const status = form.querySelector("[data-added]");
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        const response = await fetch(form.action, {
          method: "POST",
          headers: { "Accept": "application/json" },
          body: new URLSearchParams(new FormData(form)),
          credentials: "same-origin",
        });
        const answer = await response.json();
        if (status) status.textContent = answer.message || "";
        if (answer.ok) {
          for (const badge of document.querySelectorAll("[data-cart-count]")) {
            badge.textContent = answer.cart_count;
            badge.setAttribute("aria-label", answer.cart_count + " items");
          }
        }
      } catch (_) {
        form.submit();
      } finally {
        button.disabled = false;
      }
    });
  }

  // Follow an order: poll its status and reload when it changes.
  const follow = document.querySelector("[data-follow]");
  if (follow) {
    const shown = document.querySelector("[data-status]");
    const current = shown ? shown.dataset.status : null;
    // The no-JS refresh is replaced by polling.
    for (const meta of document.querySelectorAll("meta[http-equiv=refresh]")) meta.remove();
    const poll = async () => {
      try {
        const response = await fetch(follow.dataset.follow, { headers: { "Accept": "application/json" } });
        if (response.ok) {
          const answer = await response.json();
          if (current === null ? !answer.settling : answer.status !== current) {
            window.location.reload();
            return;
          }
        }
      } catch (_) { /* offline for a moment: try again */ }
      setTimeout(poll, 2000);
    };
    setTimeout(poll, 1000);
  }

  // Stripe: the card field and confirmation belong to Stripe.js.
  const stripeForm = document.getElementById("stripe-form");
  if (stripeForm && window.Stripe) {
    const stripe = window.Stripe(stripeForm.dataset.stripeKey);
    const elements = stripe.elements();
    const card = elements.create("card");
    card.mount("#stripe-card");
    stripeForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const error = document.getElementById("stripe-error");
      const result = await stripe.confirmCardPayment(stripeForm.dataset.clientSecret, {
        payment_method: { card },
      });
      if (result.error) {
        error.textContent = result.error.message;
      } else {
        window.location.assign(stripeForm.dataset.return);
      }
    });
  }
});

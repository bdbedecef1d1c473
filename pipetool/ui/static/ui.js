// pipetool ui: helpers every page uses (window.pipetool).
(function () {
  "use strict";

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  // GET or POST JSON; a reply with {"error": ...} (or a failed request) rejects with its message.
  async function api(url, body) {
    const options = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
    const reply = await fetch(url, options);
    let data;
    try {
      data = await reply.json();
    } catch (e) {
      throw new Error(`${reply.status} ${reply.statusText}`);
    }
    if (!reply.ok || (data && data.error !== undefined && !Array.isArray(data))) {
      throw new Error(data && data.error ? data.error : `${reply.status} ${reply.statusText}`);
    }
    return data;
  }

  // A value as the tables show it: numbers to at most 6 significant decimals, absent as "-".
  function formatValue(value) {
    if (value === undefined || value === null) return "-";
    if (typeof value === "number") return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }

  // The page's root element says data-ready="1" once it shows its data (tests wait on it), and
  // data-ready-ms how long after the navigation started.
  function ready(element) {
    element.dataset.readyMs = String(Math.round(performance.now()));
    element.dataset.ready = "1";
  }

  window.pipetool = { escapeHtml, api, formatValue, ready };
})();

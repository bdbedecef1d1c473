// The Metrics page: metrics history from /api/metrics/history, one Plotly line chart per numeric
// metric over the commits (oldest left); hover shows the short commit, its message and the value.
(function () {
  "use strict";
  const { escapeHtml, api, ready } = window.pipetool;
  const root = document.getElementById("metrics");
  const charts = document.getElementById("metrics-charts");
  const choices = document.getElementById("metrics-choices");
  const state = { data: null, hidden: new Set() };

  function say(text, isError) {
    const box = document.getElementById("metrics-message");
    box.textContent = text;
    box.className = "message" + (isError ? " error" : "");
  }

  function draw() {
    const { rows, numeric } = state.data;
    charts.innerHTML = "";
    const labels = rows.map((r) => r.short);
    for (const key of numeric) {
      if (state.hidden.has(key)) continue;
      const points = rows.filter((r) => typeof r.metrics[key] === "number");
      const div = document.createElement("div");
      div.className = "chart";
      div.dataset.metric = key;
      charts.appendChild(div);
      const trace = {
        type: "scatter",
        mode: "lines+markers",
        name: key,
        x: points.map((r) => r.short),
        y: points.map((r) => r.metrics[key]),
        customdata: points.map((r) => [r.commit.slice(0, 7), escapeHtml(r.message)]),
        hovertemplate: "<b>%{customdata[0]}</b> %{customdata[1]}<br>" + escapeHtml(key) + ": %{y}<extra></extra>",
      };
      const layout = {
        title: { text: escapeHtml(key), font: { size: 14 }, x: 0.01, xanchor: "left" },
        margin: { l: 56, r: 40, t: 40, b: 72 },
        modebar: { orientation: "v" },
        height: 300,
        xaxis: { type: "category", categoryorder: "array", categoryarray: labels, tickangle: -45, automargin: true },
        yaxis: { automargin: true },
        hovermode: "closest",
      };
      Plotly.newPlot(div, [trace], layout, { displaylogo: false, responsive: true });
    }
    if (!numeric.length) charts.innerHTML = '<p class="muted">No numeric metric in these commits.</p>';
  }

  function renderChoices() {
    const { numeric } = state.data;
    choices.innerHTML = numeric
      .map((key) => `<label><input type="checkbox" data-metric="${escapeHtml(key)}" ${state.hidden.has(key) ? "" : "checked"}> ${escapeHtml(key)}</label>`)
      .join("");
  }

  async function load() {
    delete root.dataset.ready;
    const rev = document.getElementById("metrics-rev").value.trim() || "HEAD";
    const limit = document.getElementById("metrics-limit").value || "";
    const query = new URLSearchParams({ rev, limit });
    try {
      state.data = await api("/api/metrics/history?" + query.toString());
      const n = state.data.rows.length;
      document.getElementById("metrics-count").textContent = `${n} commit${n === 1 ? "" : "s"}, oldest left`;
      say("", false);
      renderChoices();
      draw();
    } catch (error) {
      state.data = null;
      choices.innerHTML = "";
      charts.innerHTML = "";
      document.getElementById("metrics-count").textContent = "";
      say(error.message, true);
    }
    ready(root);
  }

  document.getElementById("metrics-form").addEventListener("submit", (e) => {
    e.preventDefault();
    load();
  });
  choices.addEventListener("change", (e) => {
    const key = e.target.dataset.metric;
    if (e.target.checked) state.hidden.delete(key);
    else state.hidden.add(key);
    delete root.dataset.ready;
    draw();
    ready(root);
  });
  load();
})();

// pipetool ui: the Plots page. A Plotly chart per plot definition, a series (or a heat map, or an
// image) per chosen revision; the picker offers the workspace, HEAD, branches and experiments.
(function () {
  "use strict";
  const { api, escapeHtml, ready } = window.pipetool;

  const CONFIG = { displaylogo: false, responsive: true };
  let choices = [];

  function chosen() {
    return choices.filter((c) => c.checked).map((c) => c.value);
  }

  function picker() {
    const box = document.querySelector("#plots-revisions .choices");
    const kinds = { workspace: "", commit: "", branch: "branch", experiment: "experiment" };
    box.innerHTML = choices.map((c, i) =>
      `<label><input type="checkbox" data-index="${i}" value="${escapeHtml(c.value)}"${c.checked ? " checked" : ""}> ` +
      `${escapeHtml(c.label)} <span class="muted">${kinds[c.kind] || ""}</span></label>`).join("");
    box.addEventListener("change", (event) => {
      const index = Number(event.target.dataset.index);
      if (Number.isInteger(index)) {
        choices[index].checked = event.target.checked;
        load();
      }
    });
  }

  // Plotly reads a little HTML in its texts (<b>, <a href>): names and labels from the project's
  // files and refs are escaped, so they show as they are.
  const text = (value) => (typeof value === "string" ? escapeHtml(value) : value);

  function axis(title, extra) {
    return Object.assign({ title: { text: text(title) }, automargin: true }, extra || {});
  }

  function lineTraces(plot) {
    const mode = plot.kind === "scatter" ? "markers" : "lines";
    return plot.series.map((s) => plot.kind === "bars"
      ? { type: "bar", orientation: "h", name: text(s.name), x: s.x, y: s.y.map(text) }
      : { type: "scatter", mode: s.y.includes(null) && mode === "lines" ? "lines+markers" : mode, name: text(s.name), x: s.x.map(text), y: s.y });
  }

  // One heat map per revision, side by side: counts[predicted][actual], actual along x.
  function heatmaps(plot) {
    const drawn = plot.matrices.filter((m) => m.drawn);
    const traces = drawn.map((m, i) => ({
      type: "heatmap", name: text(m.name), x: m.classes.map(text), y: m.classes.map(text), z: m.counts,
      xaxis: i ? `x${i + 1}` : "x", yaxis: i ? `y${i + 1}` : "y", colorscale: "Blues", reversescale: true,
      showscale: i === drawn.length - 1,
      texttemplate: m.classes.length <= 20 ? (m.normalized ? "%{z:.2f}" : "%{z}") : "",
      hovertemplate: `${escapeHtml(m.name)}<br>actual %{x}<br>predicted %{y}<br>%{z}<extra></extra>`,
    }));
    const layout = { grid: { rows: 1, columns: Math.max(1, drawn.length), pattern: "independent" }, annotations: [] };
    drawn.forEach((m, i) => {
      const suffix = i ? String(i + 1) : "";
      layout[`xaxis${suffix}`] = axis(plot.x_label, { type: "category" });
      layout[`yaxis${suffix}`] = axis(i ? "" : plot.y_label, { type: "category", autorange: "reversed" });
      layout.annotations.push({ text: escapeHtml(m.name), showarrow: false, xref: `x${suffix} domain`, yref: `y${suffix} domain`, x: 0.5, y: 1.08 });
    });
    for (const m of plot.matrices.filter((m) => !m.drawn)) {
      plot.notes.push(`${m.name}: ${m.classes.length} classes: not drawn`);
    }
    return [traces, layout];
  }

  function card(plot, index) {
    const problems = Object.entries(plot.errors).map(([rev, why]) => `<li>${escapeHtml(rev)}: ${escapeHtml(why)}</li>`);
    const notes = plot.notes.map((n) => `<li>${escapeHtml(n)}</li>`);
    const element = document.createElement("section");
    element.className = "pl-chart-card";
    element.innerHTML = `<h2>${escapeHtml(plot.heading)}</h2>` +
      (plot.kind === "image" ? '<div class="images"></div>' : `<div class="chart" id="plot-${index}"></div>`) +
      (problems.length || notes.length ? `<ul class="muted">${problems.join("")}${notes.join("")}</ul>` : "");
    return element;
  }

  function drawPlot(plot, element) {
    if (plot.kind === "image") {
      element.querySelector(".images").innerHTML = Object.entries(plot.images).map(([rev, src]) =>
        `<figure data-revision="${escapeHtml(rev)}"><img alt="${escapeHtml(plot.id)} at ${escapeHtml(rev)}" src="${src}"><figcaption>${escapeHtml(rev)}</figcaption></figure>`).join("");
      return;
    }
    const div = element.querySelector(".chart");
    div.dataset.plot = plot.id;
    div.dataset.kind = plot.kind;
    let traces, layout;
    if (plot.kind === "confusion") {
      [traces, layout] = heatmaps(plot);
    } else {
      traces = lineTraces(plot);
      layout = { xaxis: axis(plot.x_label), yaxis: axis(plot.y_label, plot.kind === "bars" ? { type: "category" } : {}), showlegend: true };
    }
    layout.margin = { t: plot.kind === "confusion" ? 56 : 30, r: 10, b: 40, l: 50 };
    layout.height = 340;
    window.Plotly.newPlot(div, traces, layout, CONFIG);
  }

  let loads = 0; // a newer load supersedes an older one still waiting for its answer

  async function load() {
    const mine = ++loads;
    const main = document.getElementById("main");
    delete main.dataset.ready;
    const revs = chosen();
    const named = choices.filter((c) => c.checked);
    document.getElementById("plots-chosen").textContent = revs.length ? `showing ${choices.filter((c) => c.checked).map((c) => c.label).join(", ")}` : "choose a revision";
    const charts = document.getElementById("plots-charts");
    const message = document.getElementById("plots-message");
    message.textContent = "";
    message.classList.remove("error");
    try {
      const data = revs.length ? await api("/api/plots?" + named.map((c) => `rev=${encodeURIComponent(c.value)}&label=${encodeURIComponent(c.label)}`).join("&")) : { plots: [] };
      if (mine !== loads) return; // the revisions changed meanwhile: the newer load draws
      for (const old of charts.querySelectorAll(".chart")) window.Plotly.purge(old);
      charts.innerHTML = "";
      if (!data.plots.length) message.textContent = revs.length ? "No plots declared in pipeline.yaml." : "";
      data.plots.forEach((plot, index) => {
        const element = card(plot, index);
        charts.appendChild(element);
        drawPlot(plot, element);
      });
    } catch (error) {
      if (mine !== loads) return;
      message.textContent = error.message;
      message.classList.add("error");
    }
    ready(main);
  }

  async function start() {
    try {
      choices = await api("/api/plots/revisions");
    } catch (error) {
      choices = [{ value: "workspace", label: "workspace", kind: "workspace", checked: true }];
      document.getElementById("plots-message").textContent = error.message;
    }
    fromAddress();
    picker();
    await load();
  }

  // /plots?rev=R&label=NAME...: those revisions chosen instead of the defaults (the Experiments
  // page's compare panel links here). A revision the picker offers under that name or value is
  // ticked there; another (an experiment of an older baseline) joins the picker as a commit.
  function fromAddress() {
    const query = new URLSearchParams(window.location.search);
    const revs = query.getAll("rev");
    if (!revs.length) return;
    const labels = query.getAll("label");
    choices.forEach((c) => (c.checked = false));
    revs.forEach((rev, i) => {
      const label = labels[i] || rev;
      const found = choices.find((c) => c.value === rev) ||
        choices.find((c) => c.label === label && (c.kind === "experiment" || c.kind === "branch"));
      if (found) found.checked = true;
      else choices.push({ value: rev, label, kind: "commit", checked: true });
    });
  }

  start();
})();

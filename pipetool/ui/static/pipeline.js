// pipetool ui: the Pipeline page. The stage graph as SVG from the server's layout, coloured by
// status; a poll of the run-state file updates it while a repro runs; a click opens a stage's panel.
(function () {
  "use strict";
  const { api, escapeHtml, ready } = window.pipetool;

  const NODE_W = 170, NODE_H = 38, COL = 230, ROW = 54, PAD = 16;
  const POLL_MS = 500, LOG_MS = 700;
  const COLOURS = {
    "up to date": ["#dcfae6", "#17b26a"],
    stale: ["#fef0c7", "#f79009"],
    running: ["#d1e0ff", "#2e6be6"],
    failed: ["#fee4e2", "#d92d20"],
    frozen: ["#eaecf0", "#667085"],
  };
  const RUN_WORDS = { queued: "queued", running: "running", done: "ran", restored: "restored from the run-cache",
    "up to date": "up to date", failed: "failed", skipped: "skipped", frozen: "frozen (passed over)",
    interrupted: "interrupted" };

  let data = null;          // /api/pipeline's answer
  let stages = {};          // name -> stage record (with the live status merged in)
  let run = null;           // the run-state as last polled
  let stamp = null;         // the run-state file's stamp, sent back to the poll
  let clockSkew = 0;        // server time minus this browser's
  let selected = null;      // the stage whose panel is open
  let logOffset = 0, logTimer = null;

  const box = () => document.getElementById("pl-graph-box");
  const message = (text) => { document.getElementById("pl-message").textContent = text || ""; };

  function seconds(value) {
    if (value === null || value === undefined) return "-";
    if (value < 60) return `${value.toFixed(value < 10 ? 1 : 0)}s`;
    const m = Math.floor(value / 60), s = Math.round(value % 60);
    return m < 60 ? `${m}m${String(s).padStart(2, "0")}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
  }

  function legend() {
    document.getElementById("pl-legend").innerHTML = Object.entries(COLOURS)
      .map(([name, [fill, edge]]) => `<span style="--swatch:${fill};--edge:${edge}">${name}</span>`).join("");
  }

  // -- drawing ---------------------------------------------------------------------------------

  function short(name) {
    return name.length > 24 ? name.slice(0, 11) + "…" + name.slice(-12) : name;
  }

  function hover(stage) {
    const lines = [stage.name, `status: ${stage.status}`];
    if (stage.run) lines.push(`in the run: ${RUN_WORDS[stage.run] || stage.run}`);
    if (stage.message) lines.push(stage.message);
    for (const reason of stage.reasons || []) lines.push(`- ${reason}`);
    if (stage.duration !== null && stage.duration !== undefined) lines.push(`last run: ${seconds(stage.duration)}`);
    return lines.join("\n");
  }

  function subtitle(stage) {
    if (stage.status === "running") return `running ${seconds(stage.elapsed || 0)}`;
    if (stage.run === "queued") return "queued";
    if (stage.status === "stale") return stage.reasons.length === 1 ? stage.reasons[0] : `${stage.reasons.length} reasons`;
    return stage.status + (stage.duration ? ` · ${seconds(stage.duration)}` : "");
  }

  function nodeHtml(stage) {
    const [fill, edge] = COLOURS[stage.status] || COLOURS.stale;
    const x = PAD + stage.x * COL, y = PAD + stage.y * ROW;
    const sub = subtitle(stage);
    return `<g class="node${stage.name === selected ? " selected" : ""}" data-stage="${escapeHtml(stage.name)}" ` +
      `data-status="${escapeHtml(stage.status)}" data-run="${escapeHtml(stage.run || "")}" transform="translate(${x},${y})">` +
      `<title>${escapeHtml(hover(stage))}</title>` +
      `<rect width="${NODE_W}" height="${NODE_H}" rx="7" fill="${fill}" stroke="${edge}"` +
      `${stage.run === "queued" ? ' stroke-dasharray="4 3"' : ""}></rect>` +
      `<text x="8" y="15">${escapeHtml(short(stage.name))}</text>` +
      `<text class="sub" x="8" y="30">${escapeHtml(sub.length > 30 ? sub.slice(0, 29) + "…" : sub)}</text></g>`;
  }

  function edgeHtml([from, to]) {
    const a = stages[from], b = stages[to];
    if (!a || !b) return "";
    const x1 = PAD + a.x * COL + NODE_W, y1 = PAD + a.y * ROW + NODE_H / 2;
    const x2 = PAD + b.x * COL, y2 = PAD + b.y * ROW + NODE_H / 2;
    const mid = (x1 + x2) / 2;
    return `<path class="edge" d="M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - 4},${y2}" marker-end="url(#pl-arrow)"></path>`;
  }

  function draw() {
    if (!data.stages.length) {
      box().innerHTML = '<p class="muted" style="padding:12px">No stages: pipeline.yaml defines none.</p>';
      return;
    }
    const width = PAD * 2 + (data.layers - 1) * COL + NODE_W;
    const height = PAD * 2 + Math.max(0, data.rows - 1) * ROW + NODE_H;
    box().innerHTML =
      `<svg id="pl-svg" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
      '<defs><marker id="pl-arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" orient="auto">' +
      '<path d="M0,0 L8,4 L0,8 z" fill="#98a2b3"></path></marker></defs>' +
      `<g class="edges">${data.edges.map(edgeHtml).join("")}</g>` +
      `<g class="nodes">${data.stages.map(nodeHtml).join("")}</g></svg>`;
  }

  function redrawNode(stage) {
    const old = box().querySelector(`g.node[data-stage="${CSS.escape(stage.name)}"]`);
    if (!old) return;
    const holder = document.createElementNS("http://www.w3.org/2000/svg", "g");
    holder.innerHTML = nodeHtml(stage);
    old.replaceWith(holder.firstElementChild);
  }

  function summarize() {
    const counts = {};
    for (const stage of data.stages) counts[stage.status] = (counts[stage.status] || 0) + 1;
    document.getElementById("pl-summary").textContent =
      `${data.stages.length} stage(s): ` + Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(", ");
  }

  function showRun() {
    const line = document.getElementById("pl-run");
    line.classList.toggle("live", Boolean(run && run.live));
    if (!run) { line.textContent = ""; return; }
    const now = Date.now() / 1000 + clockSkew;
    if (run.live) {
      line.textContent = `repro running: ${run.done}/${run.total} done, ${seconds(now - run.started)} so far`;
    } else {
      const when = new Date((run.updated) * 1000).toLocaleString();
      line.textContent = `last repro ${run.finished} (${run.done}/${run.total}) at ${when}`;
    }
  }

  // -- the live run ----------------------------------------------------------------------------

  // A stage's status as the run says it now: running, failed, or (done in this run) up to date.
  function merge(stage) {
    const state = run && run.stages ? run.stages[stage.name] : undefined;
    const base = stage.judged;
    stage.run = state || null;
    delete stage.elapsed; delete stage.message;
    if (run && run.live && state === "running") {
      stage.status = "running";
      stage.elapsed = Math.max(0, Date.now() / 1000 + clockSkew - (run.running[stage.name] || run.now));
    } else if (state === "failed") {
      stage.status = "failed";
      stage.message = run.failed[stage.name] || "";
    } else if (run && run.live && ["done", "restored", "up to date"].includes(state)) {
      stage.status = stage.frozen ? "frozen" : "up to date";
    } else {
      stage.status = base;
    }
  }

  async function loadGraph() {
    data = await api("/api/pipeline");
    clockSkew = data.now - Date.now() / 1000;
    stages = {};
    for (const stage of data.stages) {
      // what status says now, before any run is merged in
      stage.judged = stage.status === "running" || stage.status === "failed"
        ? (stage.frozen ? "frozen" : stage.reasons.length ? "stale" : "up to date") : stage.status;
      stages[stage.name] = stage;
    }
    run = data.run;
    stamp = run ? run.stamp : "";
    for (const stage of data.stages) merge(stage);
    draw();
    summarize();
    showRun();
    if (selected && stages[selected]) openPanel(selected, false);
    message(data.warnings && data.warnings.length ? data.warnings.join("; ") : "");
  }

  async function poll() {
    try {
      const answer = await api(`/api/pipeline/run?since=${encodeURIComponent(stamp === null ? "" : stamp)}`);
      if (answer.changed) {
        const wasLive = Boolean(run && run.live);
        const previous = run;
        run = answer.run;
        stamp = answer.stamp;
        if (run) clockSkew = run.now - Date.now() / 1000;
        const ended = wasLive && !(run && run.live);
        const started = run && run.live && (!previous || previous.started !== run.started);
        if (ended || started || (run && !run.live && (!previous || previous.updated !== run.updated))) {
          await loadGraph();  // statuses as status decides them, now that the run is over (or new)
        } else {
          for (const stage of data.stages) {
            const before = stage.status + "|" + stage.run;
            merge(stage);
            if (stage.status + "|" + stage.run !== before) redrawNode(stage);
          }
          summarize();
        }
        if (selected && stages[selected]) {
          openPanel(selected, false);
          clearTimeout(logTimer);
          readLog(selected);  // the lines written since, up to its last once it finished
        }
      }
    } catch (error) {
      message(error.message);
    }
    tick();
    setTimeout(poll, POLL_MS);
  }

  // The running stages' time so far, and the run's, every second between polls.
  function tick() {
    showRun();
    if (!run || !run.live) return;
    for (const name of Object.keys(run.running || {})) {
      const stage = stages[name];
      if (stage && stage.status === "running") {
        merge(stage);
        redrawNode(stage);
        if (name === selected) openPanel(name, false);
      }
    }
  }

  // -- the stage panel -------------------------------------------------------------------------

  function list(items) {
    return items && items.length ? items.map((i) => `<div><code>${escapeHtml(i)}</code></div>`).join("") : '<span class="muted">none</span>';
  }

  function openPanel(name, fresh) {
    const stage = stages[name];
    const panel = document.getElementById("pl-panel");
    if (fresh) {
      selected = name;
      for (const node of box().querySelectorAll("g.node.selected")) node.classList.remove("selected");
      const node = box().querySelector(`g.node[data-stage="${CSS.escape(name)}"]`);
      if (node) node.classList.add("selected");
    }
    const reasons = stage.reasons.length ? `<ul>${stage.reasons.map((r) => `<li>${escapeHtml(r)}</li>`).join("")}</ul>` : "";
    const status = stage.status + (stage.status === "running" ? ` for ${seconds(stage.elapsed || 0)}` : "");
    const kept = fresh ? null : document.getElementById("pl-log");
    panel.innerHTML =
      `<h2 id="pl-stage-name">${escapeHtml(stage.name)}</h2>` +
      (stage.desc ? `<p>${escapeHtml(stage.desc)}</p>` : "") +
      `<dl><dt>status</dt><dd id="pl-stage-status" data-status="${escapeHtml(stage.status)}">${escapeHtml(status)}${reasons}` +
      (stage.message ? `<div class="error">${escapeHtml(stage.message)}</div>` : "") + "</dd>" +
      `<dt>cmd</dt><dd id="pl-stage-cmd">${list(stage.cmd)}</dd>` +
      `<dt>wdir</dt><dd>${escapeHtml(stage.wdir)}</dd>` +
      `<dt>deps</dt><dd>${list(stage.deps)}</dd>` +
      `<dt>outs</dt><dd>${list(stage.outs)}</dd>` +
      `<dt>params</dt><dd>${list(stage.params)}</dd>` +
      `<dt>last duration</dt><dd>${seconds(stage.duration)}</dd>` +
      (stage.frozen ? "<dt>frozen</dt><dd>yes: repro passes over it</dd>" : "") +
      "</dl><h2>Log</h2>";
    const log = kept || document.createElement("pre");
    log.id = "pl-log";
    panel.appendChild(log);
    panel.hidden = false;
    if (fresh) {
      log.textContent = "";
      logOffset = 0;
      clearTimeout(logTimer);
      readLog(name);
    }
  }

  async function readLog(name) {
    if (name !== selected) return;
    try {
      const answer = await api(`/api/pipeline/log?stage=${encodeURIComponent(name)}&offset=${logOffset}`);
      if (name !== selected) return;
      const log = document.getElementById("pl-log");
      if (answer.offset < logOffset) log.textContent = "";  // the stage started again
      if (logOffset === 0 && answer.truncated) log.textContent = `… (${answer.truncated} bytes before)\n`;
      if (!answer.exists && logOffset === 0) {
        log.textContent = "No log yet: the stage has not run here.";
        log.dataset.placeholder = "1";
      } else if (answer.text) {
        const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
        if (log.dataset.placeholder) log.textContent = "";
        delete log.dataset.placeholder;
        log.textContent += answer.text;
        if (atEnd) log.scrollTop = log.scrollHeight;
      } else if (logOffset === 0 && !log.textContent) {
        log.textContent = "(no output yet)";
        log.dataset.placeholder = "1";
      }
      logOffset = answer.offset;
      log.dataset.offset = String(logOffset);
    } catch (error) {
      message(error.message);
    }
    const stage = stages[name];
    if (stage && (stage.status === "running" || (run && run.live && stage.run === "queued"))) {
      logTimer = setTimeout(() => readLog(name), LOG_MS);  // tail it while it runs (or is about to)
    } else if (run && run.live) {
      logTimer = setTimeout(() => readLog(name), LOG_MS * 2);
    }
  }

  async function start() {
    legend();
    box().addEventListener("click", (event) => {
      const node = event.target.closest("g.node");
      if (node) openPanel(node.dataset.stage, true);
    });
    try {
      await loadGraph();
    } catch (error) {
      message(error.message);
      box().innerHTML = "";
    }
    ready(document.getElementById("main"));
    setTimeout(poll, POLL_MS);
  }

  start();
})();

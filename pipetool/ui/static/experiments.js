// The Experiments page: exp show's rows from /api/experiments, sorted, filtered, chosen columns,
// a compare panel for two or more selected rows, Apply and Branch for one experiment.
(function () {
  "use strict";
  const { escapeHtml, api, formatValue, ready } = window.pipetool;
  const root = document.getElementById("experiments");
  const state = { rows: [], columns: [], shown: new Set(), sort: null, desc: false, filter: "", selected: new Set() };

  const columnId = (c) => JSON.stringify([c.kind, c.path, c.key]);
  const NAME = { id: "name", label: "Experiment", value: (r) => r.name };
  const REV = { id: "rev", label: "Rev", value: (r) => r.rev.slice(0, 7) };
  const CREATED = { id: "created", label: "Created", value: (r) => r.created };

  function cell(row, column) {
    const files = row[column.kind] || {};
    const values = files[column.path];
    if (!values || values.error !== undefined) return undefined;
    return values[column.key];
  }

  function valueOf(row, id) {
    if (id === "name") return row.name;
    if (id === "rev") return row.rev;
    if (id === "created") return row.created;
    const column = state.columns.find((c) => columnId(c) === id);
    return column ? cell(row, column) : undefined;
  }

  // As exp show --sort-by: each baseline first among its experiments; numbers, then text, then
  // rows without a value, whichever the direction.
  function sorted(rows) {
    if (state.sort === null) return rows;
    const result = [];
    const baselines = [...new Set(rows.map((r) => r.baseline))];
    for (const baseline of baselines) {
      const group = rows.filter((r) => r.baseline === baseline);
      result.push(...group.filter((r) => !r.experiment));
      const experiments = group.filter((r) => r.experiment);
      const rank = (v) => (typeof v === "number" ? 0 : v === undefined || v === null ? 2 : 1);
      experiments.sort((a, b) => {
        const va = valueOf(a, state.sort), vb = valueOf(b, state.sort);
        if (rank(va) !== rank(vb)) return rank(va) - rank(vb);
        if (rank(va) === 2) return 0;
        const order = rank(va) === 0 ? va - vb : String(va).localeCompare(String(vb));
        return state.desc ? -order : order;
      });
      result.push(...experiments);
    }
    return result;
  }

  function matches(row, visible) {
    if (!state.filter) return true;
    const needle = state.filter.toLowerCase();
    const texts = [row.name, row.rev, ...visible.map((c) => formatValue(cell(row, c)))];
    return texts.some((t) => String(t).toLowerCase().includes(needle));
  }

  function render() {
    const visible = state.columns.filter((c) => state.shown.has(columnId(c)));
    let rows = sorted(state.rows);
    const hit = new Set(rows.filter((r) => matches(r, visible)).map((r) => r.rev + r.name));
    // a baseline stays while one of its experiments matches
    rows = rows.filter((r) => hit.has(r.rev + r.name) || (!r.experiment && rows.some((e) => e.experiment && e.baseline === r.rev && hit.has(e.rev + e.name))));
    const headers = [NAME, REV, ...visible.map((c) => ({ id: columnId(c), label: c.label, kind: c.kind })), CREATED];
    const head = headers
      .map((h) => {
        const sortedClass = state.sort === h.id ? (state.desc ? " sorted-desc" : " sorted-asc") : "";
        const kind = h.kind ? `<span class="kind">${h.kind === "metrics" ? "metric" : "param"}</span>` : "";
        return `<th class="sortable${sortedClass}" data-column="${escapeHtml(h.id)}">${kind}${escapeHtml(h.label)}</th>`;
      })
      .join("");
    const body = rows
      .map((r) => {
        const chosen = state.selected.has(r.rev);
        const cells = visible
          .map((c) => {
            const v = cell(r, c);
            return `<td class="${typeof v === "number" ? "num" : ""}">${escapeHtml(formatValue(v))}</td>`;
          })
          .join("");
        const when = r.created ? localTime(r.created) : "";
        const name = (r.experiment ? "└ " : "") + r.name;
        return (
          `<tr class="${r.experiment ? "experiment" : "baseline"}${chosen ? " selected" : ""}" data-name="${escapeHtml(r.name)}" data-rev="${escapeHtml(r.rev)}">` +
          `<td><input type="checkbox" class="select" ${chosen ? "checked" : ""} aria-label="select ${escapeHtml(r.name)}"></td>` +
          `<td>${escapeHtml(name)}</td><td><code>${escapeHtml(r.rev.slice(0, 7))}</code></td>${cells}` +
          `<td class="muted">${escapeHtml(when)}</td></tr>`
        );
      })
      .join("");
    document.getElementById("exp-table-box").innerHTML =
      `<table class="grid" id="exp-table"><thead><tr><th></th>${head}</tr></thead><tbody>${body}</tbody></table>`;
    const experiments = rows.filter((r) => r.experiment).length;
    document.getElementById("exp-count").textContent = `${experiments} of ${state.rows.filter((r) => r.experiment).length} experiments`;
    renderCompare();
    renderButtons();
  }

  function localTime(seconds) {
    const d = new Date(seconds * 1000);
    const two = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
  }

  function renderChooser() {
    const box = root.querySelector("#exp-columns .choices");
    box.innerHTML = state.columns
      .map((c) => {
        const id = columnId(c);
        const kind = c.kind === "metrics" ? "metric" : "param";
        return `<label><input type="checkbox" data-column="${escapeHtml(id)}" ${state.shown.has(id) ? "checked" : ""}> ${escapeHtml(c.label)} <span class="muted">${kind}${c.differs ? "" : ", same in every row"}</span></label>`;
      })
      .join("") || '<span class="muted">No params or metrics.</span>';
  }

  // in the order they were selected: the compare panel's columns
  function selectedRows() {
    return [...state.selected].map((rev) => state.rows.find((r) => r.rev === rev)).filter(Boolean);
  }

  function renderCompare() {
    const panel = document.getElementById("exp-compare");
    const rows = selectedRows();
    if (rows.length < 2) {
      panel.hidden = true;
      panel.innerHTML = "";
      return;
    }
    const onlyDiffering = document.getElementById("exp-compare-only") ? document.getElementById("exp-compare-only").checked : false;
    const lines = state.columns
      .map((c) => {
        const values = rows.map((r) => cell(r, c));
        const differs = values.some((v) => JSON.stringify(v) !== JSON.stringify(values[0]));
        if (onlyDiffering && !differs) return "";
        const cells = values.map((v) => `<td class="${typeof v === "number" ? "num" : ""}${differs ? " changed" : ""}">${escapeHtml(formatValue(v))}</td>`).join("");
        return `<tr class="${differs ? "differs" : "same"}" data-column="${escapeHtml(columnId(c))}"><th>${escapeHtml(c.label)} <span class="kind">${c.kind === "metrics" ? "metric" : "param"}</span></th>${cells}</tr>`;
      })
      .join("");
    const heads = rows.map((r) => `<th data-name="${escapeHtml(r.name)}">${escapeHtml(r.name)} <code>${escapeHtml(r.rev.slice(0, 7))}</code></th>`).join("");
    // their plots side by side: the Plots page with these rows' revisions chosen, named as here
    const plots = "/plots?" + rows.map((r) => `rev=${encodeURIComponent(r.rev)}&label=${encodeURIComponent(r.name)}`).join("&");
    panel.innerHTML =
      `<h2>Compare ${rows.length} rows</h2><label class="muted"><input type="checkbox" id="exp-compare-only"${onlyDiffering ? " checked" : ""}> only what differs</label>` +
      ` <a id="exp-compare-plots" href="${escapeHtml(plots)}">their plots side by side</a>` +
      `<table class="grid" id="exp-compare-table"><thead><tr><th></th>${heads}</tr></thead><tbody>${lines}</tbody></table>`;
    panel.hidden = false;
  }

  function oneExperiment() {
    const rows = selectedRows();
    return rows.length === 1 && rows[0].experiment ? rows[0] : null;
  }

  function renderButtons() {
    const one = oneExperiment();
    document.getElementById("exp-apply").disabled = !one;
    document.getElementById("exp-branch").disabled = !one;
  }

  function say(text, isError) {
    const box = document.getElementById("exp-message");
    box.textContent = text;
    box.className = "message" + (isError ? " error" : "");
  }

  async function load() {
    delete root.dataset.ready;
    const all = document.getElementById("exp-all").checked;
    try {
      const data = await api("/api/experiments" + (all ? "?all=1" : ""));
      state.rows = data.rows;
      state.columns = data.columns;
      state.shown = new Set(data.columns.filter((c) => c.differs).map(columnId));
      const revs = new Set(data.rows.map((r) => r.rev));
      state.selected = new Set([...state.selected].filter((rev) => revs.has(rev)));
      if (data.errors.length) say(data.errors.join("; "), true);
      if (!data.rows.some((r) => r.experiment)) say("No experiments yet: 'pipetool exp run -S KEY=VALUE' makes one.", false);
      renderChooser();
      render();
    } catch (error) {
      say(error.message, true);
    }
    ready(root);
  }

  // Apply and Branch: a dialog first; the POST's reply (or its one-line error) shown on the page.
  function confirmAction(kind) {
    const experiment = oneExperiment();
    if (!experiment) return;
    const dialog = document.getElementById("exp-dialog");
    const branchBox = document.getElementById("exp-dialog-branch");
    const input = document.getElementById("exp-branch-name");
    document.getElementById("exp-dialog-text").textContent =
      kind === "apply"
        ? `Apply experiment '${experiment.name}'? Its params, lock and outs replace the workspace's (uncommitted changes to those files go to the git stash).`
        : `Make a git branch of experiment '${experiment.name}' (HEAD stays where it is)?`;
    branchBox.hidden = kind !== "branch";
    input.value = kind === "branch" ? `${experiment.name}` : "";
    dialog.returnValue = "";
    dialog.onclose = async () => {
      if (dialog.returnValue !== "ok") return;
      delete root.dataset.done;
      try {
        const body = kind === "apply" ? { name: experiment.name } : { name: experiment.name, branch: input.value.trim() };
        const result = await api(`/api/experiments/${kind}`, body);
        say(result.message, false);
      } catch (error) {
        say(error.message, true);
      }
      root.dataset.done = kind;
    };
    dialog.showModal();
  }

  document.getElementById("exp-filter").addEventListener("input", (e) => {
    state.filter = e.target.value.trim();
    render();
  });
  document.getElementById("exp-all").addEventListener("change", load);
  root.querySelector("#exp-columns .choices").addEventListener("change", (e) => {
    const id = e.target.dataset.column;
    if (e.target.checked) state.shown.add(id);
    else state.shown.delete(id);
    render();
  });
  document.getElementById("exp-table-box").addEventListener("click", (e) => {
    const th = e.target.closest("th.sortable");
    if (th) {
      const id = th.dataset.column;
      state.desc = state.sort === id ? !state.desc : false;
      state.sort = id;
      render();
      return;
    }
    if (e.target.classList.contains("select")) {
      const rev = e.target.closest("tr").dataset.rev;
      if (e.target.checked) state.selected.add(rev);
      else state.selected.delete(rev);
      render();
    }
  });
  document.getElementById("exp-compare").addEventListener("change", (e) => {
    if (e.target.id === "exp-compare-only") renderCompare();
  });
  document.getElementById("exp-apply").addEventListener("click", () => confirmAction("apply"));
  document.getElementById("exp-branch").addEventListener("click", () => confirmAction("branch"));
  load();
})();

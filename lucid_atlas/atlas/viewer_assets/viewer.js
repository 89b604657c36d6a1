// Activation atlas viewer: pan/zoom a sprite of icons, hover cells, search classes.
// Data comes from data.js (window.ATLAS_DATA), so the page works from file:// with no server.
// Every label and file name is inserted as text (textContent), never as HTML.
(function () {
  "use strict";
  const DATA = window.ATLAS_DATA;
  const canvas = document.getElementById("map");
  const ctx = canvas.getContext("2d");
  const ui = {
    layer: document.getElementById("layer"), grid: document.getElementById("grid"),
    search: document.getElementById("search"), matches: document.getElementById("matches"),
    legend: document.getElementById("legend"), cell: document.getElementById("cell"),
    reset: document.getElementById("reset"),
  };
  const state = { layer: 0, grid: 0, scale: 1, ox: 0, oy: 0, hover: null, selected: null, query: "",
                  highlighted: [], sprite: null, spriteReady: false };
  const pointers = new Map();
  let pinch = null;
  let drag = null;

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function current() { return DATA.layers[state.layer].grids[state.grid]; }

  function cellIndex(grid) {
    if (!grid._index) {
      grid._index = new Map();
      for (const c of grid.cells) grid._index.set(c.row * grid.n + c.col, c);
    }
    return grid._index;
  }

  function resize() {
    const ratio = window.devicePixelRatio || 1;
    const rect = canvas.getBoundingClientRect();
    canvas.width = Math.max(1, Math.round(rect.width * ratio));
    canvas.height = Math.max(1, Math.round(rect.height * ratio));
    draw();
  }

  function fit() {
    const g = current();
    const size = g.n * g.icon;
    const rect = canvas.getBoundingClientRect();
    state.scale = Math.min(rect.width / size, rect.height / size) * 0.96;
    state.ox = (rect.width - size * state.scale) / 2;
    state.oy = (rect.height - size * state.scale) / 2;
    draw();
  }

  function draw() {
    const g = current();
    const ratio = window.devicePixelRatio || 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.setTransform(state.scale * ratio, 0, 0, state.scale * ratio, state.ox * ratio, state.oy * ratio);
    ctx.imageSmoothingEnabled = state.scale < 2;
    if (state.spriteReady) ctx.drawImage(state.sprite, 0, 0);
    ctx.lineWidth = 3 / state.scale;
    ctx.strokeStyle = "#ff9800";
    for (const c of state.highlighted) ctx.strokeRect(c.col * g.icon, c.row * g.icon, g.icon, g.icon);
    for (const [c, color] of [[state.selected, "#1565c0"], [state.hover, "#000"]]) {
      if (!c) continue;
      ctx.strokeStyle = color;
      ctx.strokeRect(c.col * g.icon, c.row * g.icon, g.icon, g.icon);
    }
  }

  function cellAt(clientX, clientY) {
    const g = current();
    const rect = canvas.getBoundingClientRect();
    const x = (clientX - rect.left - state.ox) / state.scale;
    const y = (clientY - rect.top - state.oy) / state.scale;
    if (x < 0 || y < 0) return null;
    const col = Math.floor(x / g.icon), row = Math.floor(y / g.icon);
    if (col >= g.n || row >= g.n) return null;
    return cellIndex(g).get(row * g.n + col) || null;
  }

  function zoomBy(factor, clientX, clientY) {
    const rect = canvas.getBoundingClientRect();
    const px = (clientX === undefined ? rect.left + rect.width / 2 : clientX) - rect.left;
    const py = (clientY === undefined ? rect.top + rect.height / 2 : clientY) - rect.top;
    const next = Math.min(64, Math.max(0.05, state.scale * factor));
    state.ox = px - (px - state.ox) * (next / state.scale);
    state.oy = py - (py - state.oy) * (next / state.scale);
    state.scale = next;
    draw();
  }

  function showCell(c) {
    const g = current();
    ui.cell.replaceChildren();
    if (!c) { ui.cell.appendChild(el("p", "Hover or click a cell.", "hint")); return; }
    ui.cell.appendChild(el("h2", `cell row ${c.row}, column ${c.col}`));
    ui.cell.appendChild(el("p", `${c.count} activations`, "count"));
    const big = el("canvas", null, "enlarged");
    big.width = big.height = 192;
    if (state.spriteReady) {
      const bctx = big.getContext("2d");
      bctx.drawImage(state.sprite, c.col * g.icon, c.row * g.icon, g.icon, g.icon, 0, 0, 192, 192);
    }
    ui.cell.appendChild(big);
    const table = el("table", null, "classes");
    for (const t of c.top) {
      const tr = el("tr");
      tr.appendChild(el("td", t.label));
      tr.appendChild(el("td", `${(100 * t.share).toFixed(0)} %`, "share"));
      table.appendChild(tr);
    }
    ui.cell.appendChild(el("h2", "top classes"));
    ui.cell.appendChild(table);
    if (c.examples && c.examples.length) {
      ui.cell.appendChild(el("h2", "example images"));
      const box = el("div", null, "examples");
      for (const ex of c.examples) {
        const fig = el("figure");
        if (ex.thumb) {
          const img = el("img");
          img.src = ex.thumb;
          img.alt = ex.name;
          fig.appendChild(img);
        }
        fig.appendChild(el("figcaption", ex.name));
        box.appendChild(fig);
      }
      ui.cell.appendChild(box);
    }
  }

  function legend() {
    const L = DATA.layers[state.layer], g = current();
    ui.legend.replaceChildren(el("h2", g.title));
    const dl = el("dl");
    const rows = [["model", L.model], ["layer", L.layer], ["activations", L.rows], ["images", L.images],
                  ["grid", `${g.n} × ${g.n}, ${g.cells.length} cells`], ["icon", `${g.icon} px`]];
    for (const [k, v] of Object.entries(g.params || {})) rows.push([k, v]);
    for (const [k, v] of rows) {
      if (v === undefined || v === null) continue;
      dl.appendChild(el("dt", k));
      dl.appendChild(el("dd", typeof v === "object" ? JSON.stringify(v) : v));
    }
    ui.legend.appendChild(dl);
  }

  function search() {
    const q = ui.search.value.trim().toLowerCase();
    state.query = q;
    state.highlighted = q ? current().cells.filter(c => c.top.some(t => String(t.label).toLowerCase().includes(q))) : [];
    ui.matches.textContent = q ? `${state.highlighted.length} cells` : "";
    draw();
  }

  function loadGrid() {
    const g = current();
    state.spriteReady = false;
    state.hover = state.selected = null;
    state.sprite = new Image();
    state.sprite.onload = () => { state.spriteReady = true; draw(); };
    state.sprite.onerror = () => console.warn("could not load " + g.sprite);
    state.sprite.src = g.sprite;
    legend();
    showCell(null);
    search();
    fit();
  }

  function fillSelect(select, items) {
    select.replaceChildren(...items.map((text, i) => { const o = el("option", text); o.value = i; return o; }));
  }

  function chooseLayer(i) {
    state.layer = i;
    state.grid = 0;
    fillSelect(ui.grid, DATA.layers[i].grids.map(g => g.title));
    loadGrid();
  }

  canvas.addEventListener("wheel", e => { e.preventDefault(); zoomBy(Math.exp(-e.deltaY * 0.0015), e.clientX, e.clientY); },
                          { passive: false });
  canvas.addEventListener("pointerdown", e => {
    canvas.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      pinch = { dist: Math.hypot(a.x - b.x, a.y - b.y) };
      drag = null;
    } else {
      drag = { x: e.clientX, y: e.clientY, moved: false };
    }
  });
  canvas.addEventListener("pointermove", e => {
    if (pointers.has(e.pointerId)) pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (pinch && pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      const dist = Math.hypot(a.x - b.x, a.y - b.y);
      zoomBy(dist / pinch.dist, (a.x + b.x) / 2, (a.y + b.y) / 2);
      pinch.dist = dist;
      return;
    }
    if (drag) {
      const dx = e.clientX - drag.x, dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 2) { drag.moved = true; canvas.classList.add("dragging"); }
      state.ox += dx; state.oy += dy;
      drag.x = e.clientX; drag.y = e.clientY;
      draw();
      return;
    }
    const c = cellAt(e.clientX, e.clientY);
    if (c !== state.hover) {
      state.hover = c;
      if (!state.selected) showCell(c);
      draw();
    }
  });
  function release(e) {
    pointers.delete(e.pointerId);
    if (pointers.size < 2) pinch = null;
    if (drag && !drag.moved && e.type === "pointerup") {
      state.selected = cellAt(e.clientX, e.clientY);
      showCell(state.selected || state.hover);
      draw();
    }
    drag = null;
    canvas.classList.remove("dragging");
  }
  canvas.addEventListener("pointerup", release);
  canvas.addEventListener("pointercancel", release);
  canvas.addEventListener("pointerleave", () => { if (!drag) { state.hover = null; draw(); } });
  ui.search.addEventListener("input", search);
  ui.layer.addEventListener("change", () => chooseLayer(Number(ui.layer.value)));
  ui.grid.addEventListener("change", () => { state.grid = Number(ui.grid.value); loadGrid(); });
  ui.reset.addEventListener("click", fit);
  window.addEventListener("resize", resize);

  fillSelect(ui.layer, DATA.layers.map(L => `${L.model} · ${L.layer}`));
  ui.layer.disabled = DATA.layers.length < 2;
  resize();
  chooseLayer(0);
  // A small API for tests and for people scripting the page from the console.
  window.viewer = { state, cellAt, zoomBy, fit, current,
                    highlightedKeys: () => state.highlighted.map(c => `${c.row},${c.col}`).sort() };
})();

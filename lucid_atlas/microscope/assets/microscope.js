// The microscope site: a model page, a page per layer and per unit, at #/, #/layer/<name>,
// #/layer/<name>/unit/<n>. Data comes as scripts (data/model.js, data/layer_<name>.js) so the site
// opens from file:// as well as from a server. Every text from the data goes in as text, never HTML.
(function () {
  "use strict";
  var M = window.MICROSCOPE || { layers: {} };
  var page = document.getElementById("page");
  var crumbs = document.getElementById("crumbs");
  var state = { sort: "score", query: "" };
  window.microscope = { ready: false, route: null, state: state };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }
  function link(href, text) { return el("a", { href: href, text: text }); }
  function layerHref(name) { return "#/layer/" + encodeURIComponent(name); }
  function unitHref(name, n) { return layerHref(name) + "/unit/" + n; }

  function setCrumbs(parts) {
    crumbs.textContent = "";
    parts.forEach(function (p, i) {
      if (i) crumbs.appendChild(el("span", { className: "sep", text: "›" }));
      crumbs.appendChild(p.href ? link(p.href, p.text) : el("span", { text: p.text }));
    });
  }

  function done(route) {
    window.microscope.route = route;
    window.microscope.hash = location.hash;  // the location this page was drawn for
    window.microscope.readyAt = performance.now();  // ms since navigation began
    window.microscope.ready = true;
  }

  var loading = {};
  function withLayer(name, fn) {
    if (M.layers[name]) return fn(M.layers[name]);
    var entry = M.model && M.model.built[name];
    if (!entry) return notFound("layer " + name + " was not built: lucid-atlas microscope --layers " + name);
    if (!loading[name]) {
      loading[name] = [];
      var s = el("script", { src: entry.script });
      s.onload = function () { var q = loading[name]; loading[name] = null; q.forEach(function (f) { f(); }); };
      s.onerror = function () { notFound("the data of layer " + name + " is missing (" + entry.script + ")"); };
      document.body.appendChild(s);
    }
    loading[name].push(function () { fn(M.layers[name]); });
  }

  function notFound(message) {
    page.textContent = "";
    page.appendChild(el("p", { className: "hint", text: message }));
    done("missing");
  }

  function modelPage() {
    var m = M.model;
    setCrumbs([{ text: m.name }]);
    page.textContent = "";
    page.appendChild(el("h1", { text: m.name }));
    page.appendChild(el("p", { className: "meta", text: "input " + m.input.join("×") + " · images: " + m.images +
      " (" + m.n_images + ") · each unit rendered at " + m.render.size + " px, " + m.render.steps + " steps" }));
    var head = el("tr", {}, ["layer", "units", "map", "most excited units"].map(function (h) {
      return el("th", { text: h });
    }));
    var rows = [head];
    m.layers.forEach(function (l) {
      var b = m.built[l.name];
      if (!b) return;
      var strip = el("div", { className: "strip" });
      b.strip.forEach(function (u) {
        strip.appendChild(el("a", { href: unitHref(l.name, u.n), title: "unit " + u.n },
          [el("img", { src: u.thumb, alt: "unit " + u.n, width: 48, height: 48 })]));
      });
      rows.push(el("tr", { "data-layer": l.name }, [
        el("td", {}, [link(layerHref(l.name), l.name)]),
        el("td", { className: "num", text: b.units < l.depth ? b.units + " of " + l.depth : String(l.depth) }),
        el("td", { className: "num", text: b.shape.join("×") }),
        el("td", {}, [strip])]));
    });
    page.appendChild(el("table", { className: "layers", id: "layers" }, rows));
    var others = m.layers.filter(function (l) { return !m.built[l.name]; });
    if (others.length) {
      var list = el("ul", { className: "others" }, others.map(function (l) {
        return el("li", { text: l.name + " (" + l.depth + " units)" });
      }));
      page.appendChild(el("details", {}, [el("summary", { text: others.length +
        " more spatial layers, not built here (lucid-atlas microscope --layers NAME)" }), list]));
    }
    done("model");
  }

  function matches(unit, query) {
    if (!query) return 0;
    var best = 0;
    unit.classes.forEach(function (c) { if (c[0].toLowerCase().indexOf(query) >= 0) best = Math.max(best, c[1]); });
    return best;
  }

  function layerPage(layer) {
    if (state.layer !== layer.name) { state.layer = layer.name; state.query = ""; }  // a search is per layer
    setCrumbs([{ text: M.model.name, href: "#/" }, { text: layer.name }]);
    page.textContent = "";
    page.appendChild(el("h1", { text: layer.name }));
    var meta = layer.units.length + " units (depth " + layer.depth + "), map " + layer.shape.join("×") +
      "; a unit's strength: the mean of its " + layer.top_k + " largest activations of " + layer.ranked_by +
      " over " + layer.images + " images";
    page.appendChild(el("p", { className: "meta", text: meta }));
    if (layer.atlas) page.appendChild(el("p", {}, [link(layer.atlas.index, "this layer's activation atlas")]));
    var search = el("input", { type: "search", id: "search", placeholder: "class, e.g. dog", value: state.query });
    var count = el("span", { className: "hint", id: "count" });
    var byScore = el("button", { type: "button", id: "sort-score", text: "strongest first" });
    var byIndex = el("button", { type: "button", id: "sort-index", text: "by index" });
    page.appendChild(el("div", { className: "toolbar" }, [byScore, byIndex, search, count]));
    var grid = el("div", { className: "grid", id: "units" });
    page.appendChild(grid);

    function draw() {
      var query = state.query.trim().toLowerCase();
      var units = layer.units.slice();
      if (query) units = units.filter(function (u) { return matches(u, query) > 0; });
      units.sort(function (a, b) {
        if (query) { var d = matches(b, query) - matches(a, query); if (d) return d; }
        return state.sort === "score" ? b.score - a.score : a.n - b.n;
      });
      byScore.className = state.sort === "score" ? "on" : "";
      byIndex.className = state.sort === "index" ? "on" : "";
      count.textContent = query ? units.length + " units whose top images include “" + state.query.trim() + "”" : "";
      grid.textContent = "";
      var frag = document.createDocumentFragment();
      units.forEach(function (u) {
        frag.appendChild(el("a", { href: unitHref(layer.name, u.n), "data-unit": u.n,
          title: "unit " + u.n + " · " + u.score + (u.classes.length ? " · " + u.classes[0][0] : "") },
          [el("img", { src: u.thumb, loading: "lazy", alt: "unit " + u.n, width: 72, height: 72 }),
           el("span", { text: String(u.n) })]));
      });
      grid.appendChild(frag);
    }
    byScore.onclick = function () { state.sort = "score"; draw(); };
    byIndex.onclick = function () { state.sort = "index"; draw(); };
    search.oninput = function () { state.query = search.value; draw(); };
    draw();
    done("layer");
  }

  function unitPage(layer, n) {
    var index = -1;
    layer.units.forEach(function (u, i) { if (u.n === n) index = i; });
    if (index < 0) return notFound("unit " + n + " of " + layer.name + " is not in this site");
    var u = layer.units[index];
    setCrumbs([{ text: M.model.name, href: "#/" }, { text: layer.name, href: layerHref(layer.name) },
      { text: "unit " + n }]);
    page.textContent = "";
    page.appendChild(el("h1", { text: layer.name + " · unit " + n }));
    var prev = index > 0 ? layer.units[index - 1] : null, next = layer.units[index + 1];
    page.appendChild(el("p", { className: "pager" }, [
      prev ? link(unitHref(layer.name, prev.n), "← unit " + prev.n) : null,
      next ? link(unitHref(layer.name, next.n), "unit " + next.n + " →") : null,
      link(layerHref(layer.name), "all units of " + layer.name)]));
    var left = el("div", { className: "vis" }, [
      el("img", { id: "vis", src: u.image, alt: "visualization of unit " + n, width: 256, height: 256 }),
      el("p", { className: "meta", text: "feature visualization (" + layer.render.size + " px, " +
        layer.render.steps + " steps) · strength " + u.score })]);
    if (u.negative) left.appendChild(el("div", { className: "extra" }, [el("span", { className: "meta", text: "negative" }),
      el("img", { src: u.negative, alt: "negative of unit " + n })]));
    if (u.diversity) left.appendChild(el("div", { className: "extra" }, [el("span", { className: "meta", text: "diversity" }),
      el("img", { src: u.diversity, alt: "diverse visualizations of unit " + n })]));
    var right = el("div", {});
    right.appendChild(el("h2", { text: "Top images" }));
    right.appendChild(el("div", { className: "crops", id: "crops" }, u.top.map(function (t) {
      return el("figure", {}, [el("img", { src: t.src, alt: t.label, width: 112, height: 112 }),
        el("figcaption", { text: t.label + " · " + t.value })]);
    })));
    right.appendChild(el("h2", { text: "Classes among its top images" }));
    right.appendChild(el("ul", { className: "classes" }, u.classes.map(function (c) {
      return el("li", { text: c[0] + " ×" + c[1] });
    })));
    if (u.cells && layer.atlas) {
      var a = layer.atlas, D = 80;
      right.appendChild(el("h2", { text: "Where it is strongest in the layer's atlas" }));
      right.appendChild(el("div", { className: "cells" }, u.cells.map(function (c) {
        var icon = el("div", { className: "icon" });
        icon.style.backgroundImage = "url(" + JSON.stringify(a.sprite) + ")";
        icon.style.backgroundSize = a.grid * D + "px " + a.grid * D + "px";
        icon.style.backgroundPosition = -c.col * D + "px " + -c.row * D + "px";
        return el("figure", {}, [icon, el("figcaption", { text: "row " + c.row + ", col " + c.col + " · " + c.weight })]);
      })));
      right.appendChild(el("p", {}, [link(a.index, "open the atlas")]));
    }
    page.appendChild(el("div", { className: "unit" }, [left, right]));
    done("unit");
  }

  function route() {
    window.microscope.ready = false;
    if (!M.model) return notFound("no data/model.js: build the site with lucid-atlas microscope");
    var parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
    if (parts[0] === "layer" && parts[1]) {
      var name = parts[1];
      if (parts[2] === "unit") {
        var n = parseInt(parts[3], 10);
        return withLayer(name, function (layer) { unitPage(layer, n); window.scrollTo(0, 0); });
      }
      return withLayer(name, layerPage);
    }
    modelPage();
  }
  window.addEventListener("hashchange", route);
  route();
})();

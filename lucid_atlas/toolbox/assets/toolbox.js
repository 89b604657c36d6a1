// The toolbox page: one WebSocket to the server carries inputs (folder images, uploads, camera or
// video frames) and brings back the layer view, the unit view and background-job progress.
// Every label from the server is inserted as text, never as HTML.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const state = {
    info: null, layer: null, channel: null, view: null, layerViews: 0, frames: 0, frameTimes: [],
    fps: 0, live: null, waitingFrame: false, errors: [], top: null, vis: {}, unit: null, ws: null,
    connected: false, cols: 1, tile: 1, selected: -1,
  };
  window.toolbox = { state };

  function showError(message) {
    state.errors.push(message);
    $('error').textContent = message;
  }
  function clearError() { $('error').textContent = ''; }
  function status(text) { $('status').textContent = text; }

  function connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(proto + '//' + location.host + '/ws');
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      state.connected = true; status('connected');
      if (state.layer) ws.send(JSON.stringify({ type: 'layer', layer: state.layer }));
      if (state.selected >= 0) selectImage(state.selected);
    };
    ws.onclose = (event) => {
      state.connected = false; state.waitingFrame = false;
      if (event.code === 1009) showError('that file is too large (the limit is ' + mb(state.info.max_upload) + ')');
      status('disconnected, reconnecting…');
      setTimeout(() => { state.ws = connect(); }, 1000);
    };
    ws.onmessage = (event) => onMessage(JSON.parse(event.data));
    return ws;
  }
  function send(obj) { if (state.connected) state.ws.send(JSON.stringify(obj)); }
  function sendBytes(kind, buffer) {
    const bytes = new Uint8Array(buffer.byteLength + 1);
    bytes[0] = kind; bytes.set(new Uint8Array(buffer), 1);
    state.ws.send(bytes);
  }
  function mb(n) { return Math.round(n / 1048576) + ' MB'; }

  function onMessage(msg) {
    if (msg.type === 'layer') onLayer(msg);
    else if (msg.type === 'unit') onUnit(msg);
    else if (msg.type === 'top') onTop(msg);
    else if (msg.type === 'vis') onVis(msg);
    else if (msg.type === 'progress') onProgress(msg);
    else if (msg.type === 'error') { state.waitingFrame = false; showError(msg.message); if (state.live) nextFrame(); }
  }

  // ---- layer view ------------------------------------------------------------------------------
  function onLayer(msg) {
    if (msg.source !== 'frame') clearError();
    state.view = msg; state.layerViews += 1;
    if (msg.input) $('input-image').src = msg.input;
    const top5 = $('top5');
    top5.replaceChildren(...msg.top5.map((t) => {
      const li = document.createElement('li');
      li.textContent = t.label + ' ' + (100 * t.prob).toFixed(1) + '%';
      return li;
    }));
    $('layer-name').textContent = msg.layer;
    $('layer-info').textContent = msg.channels + ' channels, ' + msg.height + '×' + msg.width +
      ', max ' + msg.scale.toFixed(2) + ', server ' + msg.handled_ms + ' ms';
    drawTiles(msg);
    if (msg.source === 'frame') frameDone();
    if (state.channel !== null && msg.source !== 'frame') send({ type: 'unit', layer: msg.layer, channel: state.channel });
  }

  function drawTiles(msg) {
    const canvas = $('layer'), ctx = canvas.getContext('2d');
    const n = msg.channels, h = msg.height, w = msg.width;
    const cols = Math.ceil(Math.sqrt(n * h / w)), rows = Math.ceil(n / cols);
    const tile = Math.max(2, Math.floor(canvas.width / cols));
    canvas.height = rows * tile;
    state.cols = cols; state.tile = tile;
    const raw = atob(msg.tiles);
    const off = document.createElement('canvas');
    off.width = cols * w; off.height = rows * h;
    const octx = off.getContext('2d'), img = octx.createImageData(off.width, off.height);
    for (let c = 0; c < n; c++) {
      const ox = (c % cols) * w, oy = Math.floor(c / cols) * h;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const v = raw.charCodeAt(c * h * w + y * w + x), p = 4 * ((oy + y) * off.width + ox + x);
          img.data[p] = v; img.data[p + 1] = v; img.data[p + 2] = v; img.data[p + 3] = 255;
        }
      }
    }
    octx.putImageData(img, 0, 0);
    ctx.fillStyle = '#111'; ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.imageSmoothingEnabled = false;
    const inner = tile > 4 ? tile - 1 : tile;
    for (let c = 0; c < n; c++) {
      const sx = (c % cols) * w, sy = Math.floor(c / cols) * h;
      ctx.drawImage(off, sx, sy, w, h, (c % cols) * tile, Math.floor(c / cols) * tile, inner, inner);
    }
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#ffb300';
    for (const c of msg.strongest) ctx.strokeRect((c % cols) * tile + 1, Math.floor(c / cols) * tile + 1, inner - 2, inner - 2);
    if (state.channel !== null && state.channel < n) {
      ctx.strokeStyle = '#29b6f6';
      ctx.strokeRect((state.channel % cols) * tile, Math.floor(state.channel / cols) * tile, inner, inner);
    }
  }

  function tileAt(event) {
    const r = $('layer').getBoundingClientRect();
    const scale = $('layer').width / r.width;
    const col = Math.floor((event.clientX - r.left) * scale / state.tile);
    const row = Math.floor((event.clientY - r.top) * scale / state.tile);
    const c = row * state.cols + col;
    return state.view && col < state.cols && c < state.view.channels ? c : -1;
  }

  // ---- unit view ---------------------------------------------------------------------------------
  function selectUnit(channel) {
    state.channel = channel; state.top = null; state.vis = {}; state.unit = null;
    $('unit-name').textContent = state.layer + ' : ' + channel;
    for (const id of ['unit-overlay', 'unit-gradient', 'unit-guided', 'vis-ours', 'vis-yosinski']) $(id).removeAttribute('src');
    $('top9').replaceChildren();
    if (state.view) drawTiles(state.view);
    send({ type: 'unit', layer: state.layer, channel: channel });
  }
  function current(msg) { return msg.layer === state.layer && msg.channel === state.channel; }
  function onUnit(msg) {
    if (!current(msg)) return;
    state.unit = msg;
    $('unit-name').textContent = msg.layer + ' : ' + msg.channel + ' (peak ' + msg.peak.toFixed(2) + ' on this input)';
    $('unit-overlay').src = msg.overlay; $('unit-gradient').src = msg.gradient; $('unit-guided').src = msg.guided;
  }
  function onTop(msg) {
    if (msg.layer === state.layer) $('top-progress').textContent = msg.skipped ? '(' + msg.skipped + ' unreadable images skipped)' : '';
    if (!current(msg)) return;
    state.top = msg;
    $('top9').replaceChildren(...msg.crops.map((c) => {
      const fig = document.createElement('figure'), img = document.createElement('img'), cap = document.createElement('figcaption');
      img.src = c.src; cap.textContent = c.name + ' ' + c.value.toFixed(2);
      fig.append(img, cap); return fig;
    }));
  }
  function onVis(msg) {
    if (!current(msg)) return;
    state.vis[msg.preset] = msg.src;
    $('vis-' + msg.preset).src = msg.src;
    $('vis-' + msg.preset + '-progress').textContent = '';
  }
  function onProgress(msg) {
    const text = msg.total ? Math.round(100 * msg.done / msg.total) + '%' : 'queued…';
    if (msg.what === 'top') $('top-progress').textContent = 'one pass over the images: ' + msg.done + ' / ' + msg.total;
    else if (current(msg)) $(msg.what + '-progress').textContent = 'rendering ' + text;
  }

  // ---- inputs ------------------------------------------------------------------------------------
  function selectImage(index) {
    stopLive();
    state.selected = index;
    for (const img of $('thumbs').children) img.classList.toggle('selected', Number(img.dataset.index) === index);
    send({ type: 'image', index: index });
  }
  function uploadFile(file) {
    if (!file) return;
    stopLive();
    if (file.size > state.info.max_upload) { showError(file.name + ' is ' + mb(file.size) + '; the limit is ' + mb(state.info.max_upload)); return; }
    state.selected = -1;
    file.arrayBuffer().then((buffer) => sendBytes(0, buffer));
  }
  function frameDone() {
    state.waitingFrame = false; state.frames += 1;
    const now = performance.now();
    state.frameTimes.push(now);
    while (state.frameTimes.length && now - state.frameTimes[0] > 3000) state.frameTimes.shift();
    if (state.frameTimes.length > 1) {
      state.fps = (state.frameTimes.length - 1) * 1000 / (now - state.frameTimes[0]);
      $('fps').textContent = state.fps.toFixed(1) + ' fps';
    }
    if (state.live) nextFrame();
  }
  function nextFrame() {
    if (!state.live || state.waitingFrame || !state.connected) return;
    const video = $('video');
    if (video.readyState < 2) { setTimeout(nextFrame, 50); return; }
    const grab = $('grab'), ctx = grab.getContext('2d');
    const side = Math.min(video.videoWidth, video.videoHeight);
    ctx.drawImage(video, (video.videoWidth - side) / 2, (video.videoHeight - side) / 2, side, side, 0, 0, grab.width, grab.height);
    state.waitingFrame = true;
    grab.toBlob((blob) => blob.arrayBuffer().then((buffer) => sendBytes(1, buffer)), 'image/jpeg', 0.85);
  }
  function startLive(kind, stream, url) {
    stopLive();
    const video = $('video');
    video.style.display = 'block'; $('input-image').style.display = 'none';
    if (stream) video.srcObject = stream; else { video.srcObject = null; video.src = url; }
    video.play();
    state.live = kind; $('stop').disabled = false;
    nextFrame();
  }
  function stopLive() {
    if (!state.live) return;
    const video = $('video');
    if (video.srcObject) video.srcObject.getTracks().forEach((t) => t.stop());
    video.pause(); video.srcObject = null; video.style.display = 'none';
    $('input-image').style.display = '';
    state.live = null; state.waitingFrame = false; $('stop').disabled = true;
  }

  // ---- setup -------------------------------------------------------------------------------------
  fetch('api/info').then((r) => r.json()).then((info) => {
    state.info = info; state.layer = info.layer;
    $('model').textContent = info.model;
    const picker = $('layer-picker');
    picker.replaceChildren(...info.layers.map((l) => {
      const o = document.createElement('option');
      o.value = l.name; o.textContent = l.name + ' (' + l.depth + ')'; o.selected = l.name === info.layer;
      return o;
    }));
    picker.onchange = () => { state.layer = picker.value; state.channel = null; send({ type: 'layer', layer: state.layer }); };
    $('thumbs').replaceChildren(...info.images.map((im) => {
      const img = document.createElement('img');
      img.src = 'api/thumb/' + im.index; img.title = im.name; img.alt = im.name; img.dataset.index = im.index;
      img.loading = 'lazy';
      img.onclick = () => selectImage(im.index);
      return img;
    }));
    state.ws = connect();
    const first = () => { if (state.connected) { if (info.images.length) selectImage(0); } else setTimeout(first, 50); };
    first();
  });
  $('layer').addEventListener('click', (event) => { const c = tileAt(event); if (c >= 0) selectUnit(c); });
  $('upload').addEventListener('change', (event) => uploadFile(event.target.files[0]));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); uploadFile(e.dataTransfer.files[0]); });
  $('camera').addEventListener('click', () => {
    navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } })
      .then((stream) => startLive('camera', stream))
      .catch((err) => showError('no camera: ' + err.message));
  });
  $('video-file').addEventListener('change', (e) => {
    const file = e.target.files[0];
    if (file) startLive('video', null, URL.createObjectURL(file));
  });
  $('stop').addEventListener('click', stopLive);
})();

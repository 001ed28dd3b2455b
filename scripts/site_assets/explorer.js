/* The latent-size explorer of notebook 07 on the course site (scripts/site_widgets.py): moves through the
   states the widget computed at build time. Plain JavaScript, nothing loaded from the network. */
(function () {
  "use strict";
  const roots = document.querySelectorAll(".cae-live-explorer:not([data-ready])");
  roots.forEach(function (root) {
    root.setAttribute("data-ready", "1");
    const data = JSON.parse(root.querySelector(".cae-live-data").textContent);
    const uid = root.id;
    const $ = function (suffix) { return document.getElementById(uid + "-" + suffix); };
    const latent = $("latent"), quality = $("quality"), step = $("step"), first = $("first");
    const radios = root.querySelectorAll('input[name="' + uid + '-family"]');
    const status = root.querySelector(".cae-live-status");
    const stats = root.querySelector(".cae-live-stats");
    const image = root.querySelector(".cae-live-digits");
    const psnrText = root.querySelector(".cae-live-psnr");
    const svg = root.querySelector(".cae-live-curve");
    const colours = [];
    for (let i = 0; i < 256; i++) colours.push(parseInt(data.colours.substr(6 * i, 6), 16));
    const latentLabels = data.latent_dims.map(function (d) { return "latent " + d; });
    const rateLabels = data.rate_models.map(function (m) { return m.label; });
    let family = data.start.family === "rate" ? "rate" : "autoencoder";
    let drawn = 0;

    function loaded(src) {
      return new Promise(function (resolve, reject) {
        const img = new Image();
        img.onload = function () { resolve(img); };
        img.onerror = reject;
        img.src = src;
      });
    }

    function pixels(img) {
      const c = document.createElement("canvas");
      c.width = img.naturalWidth; c.height = img.naturalHeight;
      const g = c.getContext("2d");
      g.drawImage(img, 0, 0);
      return g.getImageData(0, 0, c.width, c.height).data;
    }

    // The widget's three rows (originals, decoded, signed error), enlarged 3 times, 2 px apart.
    function mosaic(originals, decoded) {
      const n = data.n_digits, w = originals.naturalWidth / n, h = originals.naturalHeight;
      const zoom = 3, gap = 4, cw = w * zoom, ch = h * zoom;
      const o = pixels(originals), d = pixels(decoded);
      const canvas = document.createElement("canvas");
      canvas.width = n * cw + (n - 1) * gap; canvas.height = 3 * ch + 2 * gap;
      const g = canvas.getContext("2d");
      g.fillStyle = "#fff"; g.fillRect(0, 0, canvas.width, canvas.height);
      const out = g.getImageData(0, 0, canvas.width, canvas.height);
      for (let row = 0; row < 3; row++) {
        for (let i = 0; i < n; i++) {
          for (let y = 0; y < h; y++) {
            for (let x = 0; x < w; x++) {
              const p = 4 * (y * originals.naturalWidth + i * w + x);
              let rgb;
              if (row === 0) rgb = o[p] * 0x10101;
              else if (row === 1) rgb = d[p] * 0x10101;
              else rgb = colours[Math.min(255, Math.floor((d[p] - o[p] + 255) / 510 * 256))];
              for (let dy = 0; dy < zoom; dy++) {
                for (let dx = 0; dx < zoom; dx++) {
                  const q = 4 * ((row * (ch + gap) + y * zoom + dy) * canvas.width + i * (cw + gap) + x * zoom + dx);
                  out.data[q] = rgb >> 16; out.data[q + 1] = (rgb >> 8) & 255; out.data[q + 2] = rgb & 255;
                  out.data[q + 3] = 255;
                }
              }
            }
          }
        }
      }
      g.putImageData(out, 0, 0);
      return canvas.toDataURL("image/png");
    }

    const SVG = "http://www.w3.org/2000/svg";
    function el(name, attrs, text) {
      const e = document.createElementNS(SVG, name);
      for (const k in attrs) e.setAttribute(k, attrs[k]);
      if (text !== undefined) e.textContent = text;
      svg.appendChild(e);
      return e;
    }

    // Mean PSNR against bytes per digit (log scale): every setting grey, the current one red, the rate-aware
    // models green, the current model a star; as the widget's curve.
    function curve(stepLabel, key) {
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      const rows = [];
      data.steps.forEach(function (s) { data.curves[s].ae.forEach(function (r) { rows.push(r); }); });
      const rate = family === "rate" ? data.curves[stepLabel].rate : [];
      rate.forEach(function (r) { rows.push(r); });
      const xs = rows.map(function (r) { return Math.log10(r[1]); });
      const ys = rows.map(function (r) { return r[2]; });
      const x0 = Math.min.apply(null, xs) - 0.05, x1 = Math.max.apply(null, xs) + 0.05;
      const y0 = Math.floor(Math.min.apply(null, ys)) - 1, y1 = Math.ceil(Math.max.apply(null, ys)) + 1;
      const L = 44, R = 350, T = 22, B = 230;
      const X = function (b) { return L + (Math.log10(b) - x0) / (x1 - x0) * (R - L); };
      const Y = function (p) { return B - (p - y0) / (y1 - y0) * (B - T); };
      el("rect", {x: L, y: T, width: R - L, height: B - T, fill: "none", stroke: "#999"});
      [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000].forEach(function (b) {
        if (Math.log10(b) < x0 || Math.log10(b) > x1) return;
        el("line", {x1: X(b), x2: X(b), y1: T, y2: B, stroke: "#e4e4e4"});
        el("text", {x: X(b), y: B + 14, "text-anchor": "middle"}, String(b));
      });
      const dy = y1 - y0 > 12 ? 5 : 2;
      for (let p = Math.ceil(y0 / dy) * dy; p <= y1; p += dy) {
        el("line", {x1: L, x2: R, y1: Y(p), y2: Y(p), stroke: "#e4e4e4"});
        el("text", {x: L - 4, y: Y(p) + 4, "text-anchor": "end"}, String(p));
      }
      el("text", {x: (L + R) / 2, y: B + 32, "text-anchor": "middle"}, "bytes per digit (log scale)");
      el("text", {x: 12, y: (T + B) / 2, transform: "rotate(-90 12 " + (T + B) / 2 + ")", "text-anchor": "middle"},
         "mean PSNR (dB)");
      el("text", {x: (L + R) / 2, y: 14, "text-anchor": "middle"},
         (family === "rate" ? "latent sizes and rate-aware models, " : "every latent size, ") + data.reference + " test digits");
      const line = function (rs, attrs) {
        el("polyline", Object.assign({fill: "none", points: rs.map(function (r) { return X(r[1]) + "," + Y(r[2]); }).join(" ")}, attrs));
      };
      data.steps.forEach(function (s) { if (s !== stepLabel) line(data.curves[s].ae, {stroke: "#bfbfbf", "stroke-width": 0.8}); });
      line(data.curves[stepLabel].ae, {stroke: "#d62728", "stroke-width": 2});
      data.curves[stepLabel].ae.forEach(function (r) { el("circle", {cx: X(r[1]), cy: Y(r[2]), r: 2.5, fill: "#d62728"}); });
      if (rate.length) {
        line(rate, {stroke: "#2ca02c", "stroke-width": 1.2, "stroke-dasharray": "4 3"});
        rate.forEach(function (r) { el("rect", {x: X(r[1]) - 3, y: Y(r[2]) - 3, width: 6, height: 6, fill: "#2ca02c"}); });
      }
      const here = (family === "rate" ? rate : data.curves[stepLabel].ae).filter(function (r) { return String(r[0]) === key; })[0];
      if (here) {
        const cx = X(here[1]), cy = Y(here[2]), pts = [];
        for (let k = 0; k < 10; k++) {
          const a = Math.PI / 2 + k * Math.PI / 5, rr = k % 2 ? 3.5 : 9;
          pts.push((cx + rr * Math.cos(a)) + "," + (cy - rr * Math.sin(a)));
        }
        el("polygon", {points: pts.join(" "), fill: "#1f77b4"});
      }
      svg.setAttribute("aria-label", data.curve_alt[stepLabel + "|" + key] || "");
    }

    function setRange(input, labels) {
      const text = labels[Number(input.value)];
      input.setAttribute("aria-valuetext", text);
      document.getElementById(input.id + "-value").textContent = text;
    }

    function show() {
      setRange(latent, latentLabels);
      if (quality) setRange(quality, rateLabels);
      setRange(step, data.steps);
      radios.forEach(function (r) { r.checked = r.value === family; });
      const key = family === "rate" ? data.rate_models[Number(quality.value)].name : String(data.latent_dims[Number(latent.value)]);
      const stepLabel = data.steps[Number(step.value)];
      const name = first.value + "|" + key + "|" + stepLabel;
      const state = data.states[name];
      if (!state) return;
      const ticket = ++drawn;
      root.setAttribute("data-state", name);
      stats.innerHTML = state.stats;
      psnrText.textContent = state.psnr.map(function (p) { return p.toFixed(1); }).join(", ");
      const where = family === "rate" ? key : "latent size " + key;
      const size = state.file_bytes === null ? state.bytes_per_digit.toFixed(0) + " bytes a digit (the float32 latent)"
        : state.bytes_per_digit.toFixed(1) + " bytes a digit, a " + state.file_bytes + "-byte file";
      status.textContent = where + ", " + stepLabel + ": " + state.mean_psnr_db.toFixed(2) + " dB mean PSNR, " + size + ".";
      curve(stepLabel, key);
      Promise.all([loaded(data.originals[first.value]), loaded(state.decoded)]).then(function (imgs) {
        if (ticket !== drawn) return;  // a newer state was asked for meanwhile
        image.src = mosaic(imgs[0], imgs[1]);
        image.alt = state.alt;
        root.setAttribute("data-drawn", name);
      });
    }

    latent.addEventListener("input", function () { family = "autoencoder"; show(); });
    if (quality) quality.addEventListener("input", function () { family = "rate"; show(); });
    step.addEventListener("input", show);
    first.addEventListener("change", show);
    radios.forEach(function (r) { r.addEventListener("change", function () { if (r.checked) { family = r.value; show(); } }); });
    show();
  });
})();

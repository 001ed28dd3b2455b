/* The "guess the original" game of notebook 06 on the course site (scripts/site_widgets.py): plays the rounds
   the widget drew at build time; the score and its verdict in the widget's words. Plain JavaScript. */
(function () {
  "use strict";

  // Python's format(x, ".{digits}f"): the exact binary value, ties to even (toFixed breaks ties upwards).
  function fixed(x, digits) {
    const t = x * Math.pow(10, digits + 1);
    if (Number.isInteger(t) && t / Math.pow(10, digits + 1) === x && Math.abs(t) % 10 === 5) {
      let q = (t - 5) / 10;
      if (q % 2 !== 0) q += 1;
      return (q / Math.pow(10, digits)).toFixed(digits);
    }
    return x.toFixed(digits);
  }

  function comb(n, k) {
    let c = 1;
    for (let i = 1; i <= k; i++) c = c * (n - k + i) / i;
    return Math.round(c);
  }

  // GuessTheOriginal.verdict(): the score in words, with what it says about visual losslessness.
  function verdict(correct, rounds) {
    if (rounds < 10) return correct + " of " + rounds + " right so far: play at least 10 rounds (20 is better).";
    let sum = 0;
    for (let k = correct; k <= rounds; k++) sum += comb(rounds, k);
    const p = sum / Math.pow(2, rounds);
    const score = correct + " of " + rounds + " right (" + fixed((correct / rounds) * 100, 0) + "%); " +
      "random guessing does at least as well with probability " + fixed(p, 3);
    if (p < 0.05) return score + ": you can tell them apart, so this setting is not visually lossless for you.";
    return score + ": no evidence you can tell them apart: this setting looks visually lossless to you.";
  }
  window.caeGuessVerdict = verdict;

  document.querySelectorAll(".cae-live-guess:not([data-ready])").forEach(function (root) {
    root.setAttribute("data-ready", "1");
    const data = JSON.parse(root.querySelector(".cae-live-data").textContent);
    const image = root.querySelector(".cae-live-pair");
    const last = root.querySelector(".cae-live-last");
    const shown = root.querySelector(".cae-live-verdict");
    let round = 0, played = 0, correct = 0;

    function guess(side) {
      const r = data.rounds[round % data.rounds.length];
      const right = side === r.original;
      played += 1;
      correct += right ? 1 : 0;
      last.textContent = (right ? "Right" : "Wrong") + ": the original of digit " + r.index + " was on the " + r.original + ".";
      shown.textContent = verdict(correct, played);
      round += 1;
      const next = data.rounds[round % data.rounds.length];
      image.src = next.image;
      image.alt = next.alt;
      root.setAttribute("data-round", String(round));
      root.setAttribute("data-score", correct + "/" + played);
    }
    root.querySelectorAll("button[data-side]").forEach(function (b) {
      b.addEventListener("click", function () { guess(b.getAttribute("data-side")); });
    });
  });
})();

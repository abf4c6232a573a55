"""The page `serve` answers GET / with: drop or pick photos, see each read. No external assets."""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>happysad</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
 #drop { border: 2px dashed #999; border-radius: 8px; padding: 2rem; text-align: center; }
 #drop.over { background: #eef6ff; border-color: #3a7bd5; }
 #results { display: flex; flex-wrap: wrap; gap: 1rem; margin-top: 1.5rem; }
 .result { width: 18rem; border: 1px solid #ddd; border-radius: 6px; padding: .5rem; }
 .result canvas { width: 100%; height: auto; display: block; }
 .label { font-weight: 600; margin: .4rem 0 .2rem; }
 .note { color: #a33; }
 .bar { display: flex; align-items: center; gap: .4rem; font-size: 13px; }
 .bar span { width: 6.5rem; white-space: nowrap; }
 .bar div { height: .6rem; background: #3a7bd5; border-radius: 3px; }
</style></head>
<body>
<h1>happysad</h1>
<p id="run"></p>
<div id="drop">Drop photos here, or <input id="files" type="file" accept="image/*" multiple></div>
<div id="results"></div>
<script>
const results = document.getElementById("results");
fetch("/healthz").then(r => r.json()).then(h => {
  document.getElementById("run").textContent = "Model: " + h.run + (h.faces ? " (reads each face)" : "");
});
function show(file, answer) {
  const box = document.createElement("div");
  box.className = "result";
  box.dataset.label = answer.label || "";
  const canvas = document.createElement("canvas");
  const title = document.createElement("div");
  title.className = "label";
  title.textContent = answer.label ? answer.label + " " + (100 * answer.probability).toFixed(0) + "%"
                                   : (answer.error || answer.note || "no answer");
  if (!answer.label) title.classList.add("note");
  box.append(canvas, title);
  for (const [label, p] of Object.entries(answer.scores || {})) {
    const bar = document.createElement("div");
    bar.className = "bar";
    bar.innerHTML = "<span></span><div></div>";
    bar.firstChild.textContent = label + " " + p.toFixed(2);
    bar.lastChild.style.width = (10 * p) + "rem";
    box.append(bar);
  }
  results.prepend(box);
  const img = new Image();
  img.onload = () => {
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(img, 0, 0);
    ctx.lineWidth = Math.max(2, img.naturalWidth / 150);
    ctx.font = Math.max(12, img.naturalWidth / 25) + "px sans-serif";
    for (const face of answer.faces || []) {
      const [x, y, w, h] = [face.box[0] * img.naturalWidth, face.box[1] * img.naturalHeight,
                            face.box[2] * img.naturalWidth, face.box[3] * img.naturalHeight];
      ctx.strokeStyle = ctx.fillStyle = "#ffd400";
      ctx.strokeRect(x, y, w, h);
      ctx.fillText(face.label + " " + face.probability.toFixed(2), x, Math.max(12, y - 4));
    }
    box.dataset.faces = (answer.faces || []).length;
    box.classList.add("drawn");
  };
  img.src = URL.createObjectURL(file);
}
async function read(file) {
  const type = file.type || "application/octet-stream";
  const response = await fetch("/predict", {method: "POST", body: file, headers: {"Content-Type": type}});
  const answer = await response.json();
  show(file, response.ok ? answer : {error: answer.error});
}
document.getElementById("files").addEventListener("change", e => [...e.target.files].forEach(read));
const drop = document.getElementById("drop");
drop.addEventListener("dragover", e => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", e => { e.preventDefault(); drop.classList.remove("over");
                                     [...e.dataTransfer.files].forEach(read); });
</script>
</body></html>
"""

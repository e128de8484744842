//! `trove stats report`: one self-contained HTML page (no network, no CDN) that pictures a stats
//! folder — the `{group}/{stat}/` layout the stats steps write: a histogram per metric, a table of
//! summary values, and the top domains and suffixes.
//!
//! Each `{group}/{stat}/` folder is read from its merged `metric.json` when `stats_merger` wrote one,
//! else by merging its per-task `NNNNN.json` files on the fly, so a report needs no merge step.

use indexmap::IndexMap;
use serde_json::json;
use std::fmt::Write as _;
use trove_core::stats::MetricStats;
use trove_core::{Error, Result, Storage};

/// The merged statistics of a stats folder: group → stat → key → metric.
#[derive(Debug, Default)]
pub struct StatsFolder {
    /// `summary`, `histogram`, `fqdn`, `suffix` (and any other group found), each stat's keys.
    pub groups: IndexMap<String, IndexMap<String, IndexMap<String, MetricStats>>>,
}

/// Reads every `{group}/{stat}/` folder of `storage`.
pub fn load(storage: &dyn Storage) -> Result<StatsFolder> {
    let files = storage.list("", true)?;
    let mut folders: IndexMap<String, Vec<String>> = IndexMap::new();
    for f in &files {
        let parts: Vec<&str> = f.split('/').collect();
        if parts.len() == 3 && parts[2].ends_with(".json") {
            folders.entry(format!("{}/{}", parts[0], parts[1])).or_default().push(f.clone());
        }
    }
    folders.sort_keys();
    let mut out = StatsFolder::default();
    for (folder, mut inputs) in folders {
        let merged = format!("{folder}/metric.json");
        if inputs.contains(&merged) {
            inputs = vec![merged];
        } else {
            inputs.retain(|f| {
                let name = f.rsplit('/').next().unwrap_or_default();
                name.len() == 10 && name[..5].bytes().all(|b| b.is_ascii_digit())
            });
        }
        if inputs.is_empty() {
            continue;
        }
        inputs.sort();
        let stat = trove_filters::merge_stat_files(storage, &inputs, None)?;
        let (group, name) = folder.split_once('/').unwrap_or_default();
        out.groups.entry(group.to_string()).or_default().insert(name.to_string(), stat);
    }
    if out.groups.is_empty() {
        return Err(Error::config(format!(
            "{}: no stats found (expected `{{group}}/{{stat}}/NNNNN.json` or `metric.json` files, as the stats steps write)",
            storage.resolve("")
        )));
    }
    Ok(out)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A number for people: integers as integers, others with 4 significant digits.
fn human(x: f64) -> String {
    if !x.is_finite() {
        return "–".into();
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        let s = format!("{}", x as i64);
        // thousands separators
        let (sign, digits) = s.split_at(usize::from(s.starts_with('-')));
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        return format!("{sign}{out}");
    }
    let magnitude = x.abs();
    if (1e-3..1e6).contains(&magnitude) {
        let decimals = (3 - magnitude.log10().floor() as i32).clamp(0, 6) as usize;
        format!("{x:.decimals$}")
    } else {
        format!("{x:.3e}")
    }
}

/// The histogram data of one metric: `[value, documents]` pairs sorted by value.
fn histogram_points(keys: &IndexMap<String, MetricStats>) -> Vec<(f64, f64)> {
    let mut points: Vec<(f64, f64)> =
        keys.iter().filter_map(|(k, m)| k.parse::<f64>().ok().map(|v| (v, m.total))).collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points
}

/// The page for `stats`, titled after `title` (the folder).
pub fn render(stats: &StatsFolder, title: &str) -> String {
    let empty = IndexMap::new();
    let summary = stats.groups.get("summary").unwrap_or(&empty);
    let histograms = stats.groups.get("histogram").unwrap_or(&empty);
    let docs = summary.values().filter_map(|k| k.get("summary")).map(|m| m.n).max().unwrap_or(0);

    let mut charts = Vec::new();
    // Documents per metric from the histograms: DataTrove's format drops `n` from a summary whose
    // total is 0 (it is written as a bare 0), so the histogram's count is the better number.
    let mut counts: IndexMap<&str, u64> = IndexMap::new();
    for (stat, keys) in histograms {
        if stat.contains("__") {
            continue; // the `__chars` / `__tokens` weightings of a histogram
        }
        let s = summary.get(stat).and_then(|k| k.get("summary"));
        let counted: f64 = keys.values().map(|m| m.total).sum();
        counts.insert(stat.as_str(), counted as u64);
        charts.push(json!({
            "name": stat,
            "points": histogram_points(keys).into_iter().map(|(v, n)| json!([v, n])).collect::<Vec<_>>(),
            "mean": s.map(|m| m.mean),
            "docs": counted,
        }));
    }
    let data = serde_json::to_string(&json!({ "charts": charts })).unwrap_or_else(|_| "{}".into());
    let data = data.replace("</", "<\\/");

    let mut html = String::new();
    let _ = write!(
        html,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>trove stats: {t}</title>
<style>
body {{ font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1180px; color: #1d232b; padding: 0 16px; }}
h1 {{ font-size: 22px; margin-bottom: 4px; }} h2 {{ font-size: 18px; margin-top: 32px; border-bottom: 1px solid #d8dde3; padding-bottom: 4px; }}
.sub {{ color: #5a6672; }}
table {{ border-collapse: collapse; font-variant-numeric: tabular-nums; }}
th, td {{ padding: 3px 10px; border-bottom: 1px solid #eceff2; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
th {{ background: #f4f6f8; position: sticky; top: 0; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 18px; }}
.chart {{ border: 1px solid #e1e5ea; border-radius: 6px; padding: 8px 10px; }}
.chart h3 {{ font-size: 14px; margin: 0 0 2px; font-family: ui-monospace, monospace; }}
.chart .sub {{ font-size: 12px; }}
svg.hist rect.bar {{ fill: #3b7dd8; }} svg.hist text {{ font-size: 10px; fill: #5a6672; }}
.barcell {{ position: relative; min-width: 160px; }}
.barcell span {{ position: absolute; left: 0; top: 3px; bottom: 3px; background: #d6e4f7; z-index: -1; }}
</style></head>
<body>
<h1>trove stats report</h1>
<div class="sub">{t} · {docs} documents · {groups}</div>
"#,
        t = escape(title),
        docs = human(docs as f64),
        groups = escape(&stats.groups.keys().cloned().collect::<Vec<_>>().join(", ")),
    );

    if !summary.is_empty() {
        html.push_str(
            "<h2>Summary</h2>\n<table id=\"summary\"><thead><tr><th>metric</th><th>documents</th><th>mean</th>\
             <th>std dev</th><th>min</th><th>max</th><th>total</th></tr></thead><tbody>\n",
        );
        for (stat, keys) in summary {
            let Some(m) = keys.get("summary") else { continue };
            let _ = writeln!(
                html,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(stat),
                human(counts.get(stat.as_str()).copied().unwrap_or(0).max(m.n) as f64),
                human(m.mean),
                human(m.std_dev()),
                human(m.min),
                human(m.max),
                human(m.total)
            );
        }
        html.push_str("</tbody></table>\n");
    }

    if !charts.is_empty() {
        html.push_str(
            "<h2>Histograms</h2>\n<div class=\"sub\">Documents per value (values rounded as the stats step's \
             <code>histogram_round_digits</code> says; many distinct values are grouped into 40 equal-width bins).</div>\n\
             <div class=\"grid\" id=\"histograms\"></div>\n",
        );
    }

    for (group, label) in [("fqdn", "Top domains"), ("suffix", "Top suffixes")] {
        let Some(stats_of_group) = stats.groups.get(group) else { continue };
        // Documents per key: the largest `n` over the group's metrics (each counts every document).
        let mut per_key: IndexMap<&str, u64> = IndexMap::new();
        for keys in stats_of_group.values() {
            for (k, m) in keys {
                let e = per_key.entry(k.as_str()).or_default();
                *e = (*e).max(m.n);
            }
        }
        let mut top: Vec<(&str, u64)> = per_key.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let total: u64 = top.iter().map(|t| t.1).sum();
        let shown: Vec<&String> = stats_of_group.keys().filter(|s| !s.contains("__")).take(3).collect();
        let _ = write!(
            html,
            "<h2>{label}</h2>\n<div class=\"sub\">{} distinct; the 25 with most documents, with the mean of some metrics.</div>\n\
             <table id=\"{group}\"><thead><tr><th>{group}</th><th class=\"barcell\">documents</th>",
            human(top.len() as f64)
        );
        for s in &shown {
            let _ = write!(html, "<th>mean {}</th>", escape(s));
        }
        html.push_str("</tr></thead><tbody>\n");
        let most = top.first().map_or(1, |t| t.1.max(1));
        for (key, n) in top.iter().take(25) {
            let _ = write!(
                html,
                "<tr><td>{}</td><td class=\"barcell\"><span style=\"width:{:.1}%\"></span>{} ({:.1}%)</td>",
                if key.is_empty() { "(none)".to_string() } else { escape(key) },
                100.0 * *n as f64 / most as f64,
                human(*n as f64),
                100.0 * *n as f64 / total.max(1) as f64
            );
            for s in &shown {
                let mean = stats_of_group[*s].get(*key).map_or(f64::NAN, |m| m.mean);
                let _ = write!(html, "<td>{}</td>", human(mean));
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</tbody></table>\n");
    }

    let _ = write!(html, "<script id=\"data\" type=\"application/json\">{data}</script>\n<script>\n{SCRIPT}</script>\n</body></html>\n");
    html
}

/// Draws the histograms from the embedded data as inline SVG; marks the body when done.
const SCRIPT: &str = r##"(function () {
  const data = JSON.parse(document.getElementById("data").textContent);
  const grid = document.getElementById("histograms");
  const NS = "http://www.w3.org/2000/svg";
  const fmt = (x) => Math.abs(x) >= 1e5 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2)
    : Number.isInteger(x) ? x.toLocaleString("en") : x.toPrecision(4).replace(/\.?0+$/, "");
  function bins(points) {
    if (points.length <= 60) return points.map(([v, n]) => ({ lo: v, hi: v, n }));
    const lo = points[0][0], hi = points[points.length - 1][0], k = 40, w = (hi - lo) / k || 1;
    const out = Array.from({ length: k }, (_, i) => ({ lo: lo + i * w, hi: lo + (i + 1) * w, n: 0 }));
    for (const [v, n] of points) out[Math.min(k - 1, Math.floor((v - lo) / w))].n += n;
    return out;
  }
  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const [a, v] of Object.entries(attrs)) e.setAttribute(a, v);
    parent.appendChild(e);
    return e;
  }
  let drawn = 0;
  for (const c of data.charts || []) {
    const box = document.createElement("div");
    box.className = "chart";
    const h = document.createElement("h3");
    h.textContent = c.name;
    box.appendChild(h);
    const sub = document.createElement("div");
    sub.className = "sub";
    sub.textContent = fmt(c.docs) + " documents" + (c.mean == null ? "" : " · mean " + fmt(c.mean));
    box.appendChild(sub);
    const W = 340, H = 150, L = 36, B = 18;
    const svg = el("svg", { class: "hist", width: W, height: H + B, viewBox: `0 0 ${W} ${H + B}`, "data-metric": c.name }, box);
    const bs = bins(c.points);
    const max = Math.max(1, ...bs.map((b) => b.n));
    const bw = (W - L) / Math.max(1, bs.length);
    bs.forEach((b, i) => {
      const bh = b.n / max * (H - 8);
      const r = el("rect", { class: "bar", x: L + i * bw + 0.5, y: H - bh, width: Math.max(1, bw - 1), height: bh }, svg);
      el("title", {}, r).textContent = (b.lo === b.hi ? fmt(b.lo) : fmt(b.lo) + " – " + fmt(b.hi)) + ": " + fmt(b.n) + " documents";
    });
    el("line", { x1: L, y1: H, x2: W, y2: H, stroke: "#8a96a3" }, svg);
    el("text", { x: L, y: H + 13 }, svg).textContent = bs.length ? fmt(bs[0].lo) : "";
    el("text", { x: W, y: H + 13, "text-anchor": "end" }, svg).textContent = bs.length ? fmt(bs[bs.length - 1].hi) : "";
    el("text", { x: L - 4, y: 10, "text-anchor": "end" }, svg).textContent = fmt(max);
    el("text", { x: L - 4, y: H, "text-anchor": "end" }, svg).textContent = "0";
    grid.appendChild(box);
    drawn++;
  }
  document.body.setAttribute("data-charts", String(drawn));
})();
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        let cases = [
            (1234567.0, "1,234,567"),
            (-42.0, "-42"),
            (0.123456, "0.1235"),
            (12.3456, "12.35"),
            (1.5e-5, "1.500e-5"),
        ];
        for (x, want) in cases {
            assert_eq!(human(x), want);
        }
    }

    #[test]
    fn names_are_escaped_and_the_data_cannot_close_its_script() {
        let mut stats = StatsFolder::default();
        let mut keys = IndexMap::new();
        let mut m = MetricStats::default();
        m.update(1.0);
        keys.insert("0.5".to_string(), m.clone());
        stats.groups.entry("histogram".into()).or_default().insert("a</script><b>".into(), keys);
        let html = render(&stats, "<folder>");
        assert!(html.contains("&lt;folder&gt;"));
        assert!(!html.contains("a</script>"), "{html}");
    }
}

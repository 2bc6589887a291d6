"""The Evaluations tab: a run's headline metrics, per-category table and chart, trend across runs,
a paged per-case table whose rows open the conversation, a comparison of two runs, the report."""

from __future__ import annotations

from typing import Any

import gradio as gr

from nanoscale.app import dashboard as d
from nanoscale.config import Settings
from nanoscale.evals.report import eval_runs, history


class EvalsTab:
    """Builds the tab's components; `open_trace` is the button the host wires to the Traces tab."""

    def __init__(self, settings: Settings) -> None:
        self.runs_dir = settings.runs_dir
        self.db = settings.evals_db
        self.build()

    # --- reading (every value comes from the run's files or the history) ---

    def _runs(self) -> dict[str, list[dict[str, Any]]]:
        return {r["run"]: r["systems"] for r in eval_runs(self.runs_dir) if isinstance(r["systems"], list)}

    def _summary(self, run: str, system: str) -> dict[str, Any] | None:
        return next((s for s in self._runs().get(run, []) if s.get("system") == system), None)

    def _cases_file(self, run: str) -> str:
        return next((h["cases_file"] for h in history(self.db) if h["run_id"] == run), "")

    def _row(self, run: str, system: str, case_id: str) -> dict[str, Any] | None:
        rows = d.results(self.runs_dir / run) if run else []
        return next((r for r in rows if r["system"] == system and r["id"] == case_id), None)

    # --- callbacks ---

    def list_runs(self, current: str | None = None):
        runs = self._runs()
        choices = [
            (f"{run} · {', '.join(s['system'] for s in systems)} · {systems[0].get('cases', '?')} cases", run)
            for run, systems in runs.items()
            if systems
        ]
        value = current if current in runs else (choices[0][1] if choices else None)
        return gr.Dropdown(choices=choices, value=value)

    def pick_run(self, run: str | None, system: str | None):
        """A run's systems, and the earlier run of the same system and cases file to compare with."""
        systems = [s["system"] for s in self._runs().get(run or "", [])]
        system = system if system in systems else (systems[0] if systems else None)
        return gr.Dropdown(choices=systems, value=system), self._compare_choices(run, system)

    def _compare_choices(self, run: str | None, system: str | None):
        others = [r for r, systems in self._runs().items() if r != run and any(s["system"] == system for s in systems)]
        same_set = [
            h["run_id"]
            for h in history(self.db)
            if h["system"] == system and h["run_id"] in others and h["cases_file"] == self._cases_file(run or "")
        ]
        earlier = [r for r in reversed(same_set) if r < (run or "")]
        default = earlier[0] if earlier else None
        return gr.Dropdown(choices=[("(none)", "")] + [(r, r) for r in others], value=default or "")

    def show_run(self, run: str | None, system: str | None, metric: str):
        """Everything about the run that does not depend on the case filters."""
        import pandas as pd

        summary = self._summary(run or "", system or "") if run and system else None
        if summary is None:
            empty = pd.DataFrame({"category": [], "value": []})
            return ("No evaluation runs yet: run `nanoscale eval`.", [], empty, empty, "", "", [],
                    gr.Dropdown(choices=[("all", "")], value=""))
        categories = d.category_rows(summary)
        bar = pd.DataFrame(
            [{"category": c, "value": (summary["by_category"][c].get(metric) or 0.0)} for c, *_ in categories]
        )
        cases_file = self._cases_file(run)
        points = d.trend_points(history(self.db), system, cases_file, summary.get("cases"))
        trend = pd.DataFrame(points or [], columns=["run", "created", "metric", "value"])
        runs_in_trend = len({p["run"] for p in points})
        note = (
            f"{runs_in_trend} run(s) of `{system}` on `{cases_file or '?'}` ({summary.get('cases')} cases)"
            + ("" if runs_in_trend > 1 else "; a trend needs a second run")
        )
        head = f"**{run}**, `{system}`" + (f", cases `{cases_file}`" if cases_file else "") + "\n\n" + d.headline(summary)
        report, images = self._report(run)
        choices = [("all", "")] + [(c, c) for c, *_ in categories]
        return head, categories, bar, trend, note, report, images, gr.Dropdown(choices=choices, value="")

    def _report(self, run: str) -> tuple[str, list[Any]]:
        from PIL import Image

        folder = self.runs_dir / run
        path = folder / "report.md"
        text = path.read_text(encoding="utf-8") if path.is_file() else "_This run has no report.md._"
        text = "\n".join(line for line in text.splitlines() if not line.startswith("!["))
        images = [(Image.open(p).copy(), p.stem) for p in sorted(folder.glob("*.png"))]
        return text, images

    def show_cases(self, run: str | None, system: str | None, category: str, failures: bool, search: str, number: int):
        rows = d.results(self.runs_dir / run) if run else []
        chosen = d.filter_cases(rows, system or "", category or "", failures, search or "")
        shown, number, pages = d.page(chosen, number)
        caption = f"{len(chosen)} of {sum(r['system'] == system for r in rows)} cases, page {number} of {pages}"
        return [d.case_row(r) for r in shown], caption, number

    def open_case(self, run: str | None, system: str | None, evt: Any):
        """The selected row's conversation and the trace id the 'open trace' button will show."""
        row = self._row(run or "", system or "", (evt.row_value or [""])[0])
        if row is None:
            return "", "", gr.Button(visible=False)
        trace_id = row.get("trace_id") or ""
        return d.conversation(row), trace_id, gr.Button(visible=bool(trace_id))

    def show_compare(self, run: str | None, system: str | None, other: str | None):
        if not (run and other and system):
            return "Pick an earlier run to compare with.", []
        before = d.results(self.runs_dir / other)
        after = d.results(self.runs_dir / run)
        other_system = system if any(r["system"] == system for r in before) else (before[0]["system"] if before else "")
        rows = d.compare_cases(before, after, other_system, system)
        counts = {k: sum(r[2] == k for r in rows) for k in ("worse", "mixed", "better", "same")}
        note = f"`{run}` against `{other}` on {len(rows)} shared cases: " + ", ".join(f"{n} {k}" for k, n in counts.items())
        return note, rows

    def open_compared(self, run: str | None, system: str | None, other: str | None, evt: Any):
        case_id = (evt.row_value or [""])[0]
        after = self._row(run or "", system or "", case_id)
        before = next((r for r in d.results(self.runs_dir / (other or "")) if r["id"] == case_id), None)
        trace_id = (after or {}).get("trace_id") or ""
        return (
            d.conversation(before) if before else "",
            d.conversation(after) if after else "",
            trace_id,
            gr.Button(visible=bool(trace_id)),
        )

    # --- layout ---

    def build(self) -> None:
        with gr.Row():
            self.run = gr.Dropdown(label="Run", elem_id="eval-run", scale=3)
            self.system = gr.Dropdown(label="System", elem_id="eval-system", scale=1)
            self.other = gr.Dropdown(label="Compare with", elem_id="eval-compare", scale=2)
            self.refresh = gr.Button("Refresh", scale=0)
        self.headline = gr.Markdown(elem_id="eval-headline")
        self.trace_id = gr.State("")
        with gr.Tabs():
            with gr.Tab("Cases", id="cases"):
                with gr.Row():
                    self.failures = gr.Checkbox(label="Failures only", elem_id="eval-failures")
                    self.category = gr.Dropdown(label="Category", choices=[("all", "")], value="", elem_id="eval-category")
                    self.search = gr.Textbox(label="Search id or question", elem_id="eval-search")
                self.cases = gr.Dataframe(
                    headers=d.CASE_COLUMNS,
                    column_widths=d.CASE_WIDTHS,
                    interactive=False,
                    wrap=True,
                    elem_id="eval-cases",
                    max_height=520,
                )
                with gr.Row():
                    self.prev = gr.Button("< Previous", scale=0)
                    self.caption = gr.Markdown(elem_id="eval-page")
                    self.next = gr.Button("Next >", scale=0)
                self.page = gr.State(1)
                self.conversation = gr.Markdown(elem_id="eval-conversation")
                self.open_trace = gr.Button("Open the trace of this answer", visible=False, elem_id="eval-open-trace")
            with gr.Tab("By category", id="categories"):
                self.categories = gr.Dataframe(headers=d.CATEGORY_COLUMNS, interactive=False, elem_id="eval-categories")
                self.metric = gr.Dropdown(
                    label="Metric", choices=list(d.TREND_METRICS), value="keyword_coverage", elem_id="eval-metric"
                )
                self.bar = gr.BarPlot(x="category", y="value", y_lim=[0, 1], elem_id="eval-bar", height=320)
            with gr.Tab("Trend", id="trend"):
                self.trend_note = gr.Markdown(elem_id="eval-trend-note")
                self.trend = gr.LinePlot(
                    x="run", y="value", color="metric", y_lim=[0, 1], elem_id="eval-trend", height=340
                )
            with gr.Tab("Compare runs", id="compare"):
                self.compare_note = gr.Markdown(elem_id="eval-compare-note")
                self.compared = gr.Dataframe(
                    headers=d.COMPARE_COLUMNS, interactive=False, wrap=True, elem_id="eval-compared", max_height=420
                )
                with gr.Row():
                    self.before = gr.Markdown(label="before", elem_id="eval-before")
                    self.after = gr.Markdown(label="after", elem_id="eval-after")
                self.open_compared_trace = gr.Button("Open the trace of the newer answer", visible=False)
            with gr.Tab("Report", id="report"):
                self.report = gr.Markdown(elem_id="eval-report")
                self.images = gr.Gallery(label="Plots written with the run", columns=2, height=360)
        self._wire()

    def _wire(self) -> None:
        run_outputs = [
            self.headline, self.categories, self.bar, self.trend, self.trend_note, self.report, self.images, self.category
        ]
        case_inputs = [self.run, self.system, self.category, self.failures, self.search, self.page]
        case_outputs = [self.cases, self.caption, self.page]

        def first_page(*args: Any):
            return self.show_cases(*args[:-1], 1)

        def step(delta: int):
            return lambda *args: self.show_cases(*args[:-1], int(args[-1] or 1) + delta)

        def everything(trigger: Any) -> Any:
            """A run or system choice redraws the whole tab, in this order."""
            return (
                trigger.then(self.show_run, [self.run, self.system, self.metric], run_outputs)
                .then(first_page, case_inputs, case_outputs)
                .then(self.show_compare, [self.run, self.system, self.other], [self.compare_note, self.compared])
            )

        self.reload = lambda event: everything(
            event(self.list_runs, [self.run], [self.run]).then(
                self.pick_run, [self.run, self.system], [self.system, self.other]
            )
        )
        self.reload(self.refresh.click)
        everything(self.run.input(self.pick_run, [self.run, self.system], [self.system, self.other]))
        everything(self.system.input(self.pick_run, [self.run, self.system], [self.system, self.other]))
        self.metric.input(self.show_run, [self.run, self.system, self.metric], run_outputs)
        self.other.input(self.show_compare, [self.run, self.system, self.other], [self.compare_note, self.compared])
        for control in (self.category, self.failures):
            control.input(first_page, case_inputs, case_outputs)
        self.search.submit(first_page, case_inputs, case_outputs)
        self.prev.click(step(-1), case_inputs, case_outputs)
        self.next.click(step(1), case_inputs, case_outputs)

        def open_case(run: str, system: str, evt: gr.SelectData):
            return self.open_case(run, system, evt)

        def open_compared(run: str, system: str, other: str, evt: gr.SelectData):
            return self.open_compared(run, system, other, evt)

        self.cases.select(open_case, [self.run, self.system], [self.conversation, self.trace_id, self.open_trace])
        self.compared.select(
            open_compared, [self.run, self.system, self.other],
            [self.before, self.after, self.trace_id, self.open_compared_trace],
        )


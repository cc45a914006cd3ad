"""The network page in a real browser (Debian's chromium, driven by Playwright),
opened from file:// with no server: it renders, its search and evidence panel
work, nothing is logged as an error, and hostile names are shown as text."""

import json
import shutil
from pathlib import Path

import pytest
import spacy

from spacy_bilstm.network import build_network, extract_network
from spacy_bilstm.network.export import plot_selection, write_graph
from spacy_bilstm.network.html import render_html

from .cli_runner import run_cli
from .test_network_extract import make_doc

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium")
HOSTILE = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2">',
    '"Smith" O\'Neil & Sons',
    "حزب العمال",
    "\u202eevil Corp",
]


@pytest.fixture(scope="module")
def embedded(tmp_path_factory) -> Path:
    """The network of the embedded speeches, found by a rule-based NER made
    from the embedded NER corpus's gold entities; JSON and HTML."""
    directory = tmp_path_factory.mktemp("embedded")
    patterns = set()
    for line in (ROOT / "corpus" / "ner.jsonl").open(encoding="utf8"):
        record = json.loads(line)
        for span in record["spans"]:
            patterns.add((span["label"], record["text"][span["start"] : span["end"]]))
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": label, "pattern": text} for label, text in sorted(patterns)])
    nlp.to_disk(directory / "model")
    with (directory / "speeches.jsonl").open("w", encoding="utf8") as f:
        for line in (ROOT / "corpus" / "speeches.jsonl").open(encoding="utf8"):
            record = json.loads(line)
            f.write(json.dumps({"text": record["text"], **record["meta"]}) + "\n")
    return directory


@pytest.fixture(scope="module")
def pages(embedded):
    out = embedded / "out" / "graph.json"
    code, _, err = _run(embedded, out)
    assert code == 0, err
    return out.parent


class _Capture:
    # run_cli reads what the command printed through pytest's capsys; a
    # module fixture has none, so the output goes to this stand-in.
    def readouterr(self):
        return "", ""


def _run(embedded: Path, out: Path):
    return run_cli(
        _Capture(),
        "network",
        embedded / "model",
        embedded / "speeches.jsonl",
        "--out",
        out,
        "--formats",
        "html",
        "--meta-fields",
        "party",
        "--no-progress",
    )


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where chromium's sandbox cannot start.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


class Page:
    """A page opened from file://, recording console errors and requests."""

    def __init__(self, browser, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.errors = []
        self.requests = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        # Let the layout move a little, then hold it still, so that clicks land.
        self.page.wait_for_timeout(500)
        self.page.evaluate("() => { network.stopSimulation(); network.fit({animation: false}); }")
        self.page.wait_for_timeout(300)

    def search(self, text: str) -> None:
        self.page.fill("#sb-search", text)
        self.page.press("#sb-search", "Enter")

    def selected_names(self):
        return self.page.evaluate("() => network.getSelectedNodes().map(id => nodes.get(id).name)")

    def panel_name(self) -> str:
        return self.page.text_content("#sb-details .sb-name")

    def click_edge(self, source: str, target: str) -> bool:
        """Click the middle of the edge between two actors; whether its panel opened."""
        point = self.page.evaluate(
            """([a, b]) => {
                const ids = nodes.get().filter(n => n.name === a || n.name === b).map(n => n.id);
                const edge = edges.get().find(e => ids.includes(e.from) && ids.includes(e.to));
                const p = network.getPositions([edge.from, edge.to]);
                const mid = network.canvasToDOM({x: (p[edge.from].x + p[edge.to].x) / 2,
                                                 y: (p[edge.from].y + p[edge.to].y) / 2});
                const box = document.querySelector('#mynetwork canvas').getBoundingClientRect();
                return {x: box.left + mid.x, y: box.top + mid.y, id: edge.id};
            }""",
            [source, target],
        )
        self.page.mouse.click(point["x"], point["y"])
        self.page.wait_for_timeout(100)
        return self.page.evaluate(
            "(id) => document.getElementById('sb-details').getAttribute('data-id') === id", point["id"]
        )

    def close(self) -> None:
        self.page.close()


def _drawn_pixels(page) -> int:
    return page.evaluate(
        """() => {
            const canvas = document.querySelector('#mynetwork canvas');
            const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
            let drawn = 0;
            for (let i = 0; i < data.length; i += 4) {
                if (data[i + 3] > 0 && (data[i] < 240 || data[i + 1] < 240 || data[i + 2] < 240)) drawn++;
            }
            return drawn;
        }"""
    )


def test_the_page_renders_offline_with_the_exported_nodes(browser, pages):
    graph = json.loads((pages / "graph.json").read_text(encoding="utf8"))
    page = Page(browser, pages / "graph.html")
    try:
        assert _drawn_pixels(page.page) > 5000
        assert page.page.evaluate("nodes.length") == len(graph["nodes"]) > 100
        assert page.page.evaluate("edges.length") == len(graph["edges"])
        assert page.page.get_attribute("#sb-count", "data-nodes") == str(len(graph["nodes"]))
        assert page.requests == [(pages / "graph.html").resolve().as_uri()]
        assert page.errors == []
    finally:
        page.close()


def test_searching_a_name_selects_the_actor(browser, pages):
    graph = json.loads((pages / "graph.json").read_text(encoding="utf8"))
    actor = max(graph["nodes"], key=lambda node: (node["mentions"], node["id"]))
    page = Page(browser, pages / "graph.html")
    try:
        page.search(actor["id"].lower())
        assert page.selected_names() == [actor["id"]]
        assert page.panel_name() == actor["id"]
        details = page.page.text_content("#sb-details")
        assert str(actor["mentions"]) in details and actor["aliases"][0] in details
        page.search("no such actor at all")
        assert page.page.text_content("#sb-status") == "No actor matches."
        assert page.errors == []
    finally:
        page.close()


def test_an_edge_shows_evidence_naming_both_actors(browser, pages):
    graph = json.loads((pages / "graph.json").read_text(encoding="utf8"))
    edges = sorted(
        (edge for edge in graph["edges"] if edge["evidence"]), key=lambda edge: (-edge["weight"], edge["source"])
    )
    page = Page(browser, pages / "graph.html")
    try:
        for edge in edges[:15]:
            if page.click_edge(edge["source"], edge["target"]):
                break
            page.page.mouse.click(5, 5)  # empty canvas: clear the selection
        else:
            pytest.fail("no edge could be clicked")
        quotes = page.page.eval_on_selector_all("#sb-details blockquote", "els => els.map(e => e.textContent)")
        assert quotes == [item["text"] for item in edge["evidence"]]
        assert len(quotes) <= 5
        both = [
            q for q in quotes if edge["source"].lower() in q.lower() and edge["target"].lower() in q.lower()
        ]
        assert both, (edge["source"], edge["target"], quotes)
        notes = page.page.text_content("#sb-details")
        assert edge["evidence"][0]["doc_id"] in notes and str(edge["weight"]) in notes
        assert page.errors == []
    finally:
        page.close()


def test_a_speaker_edge_shows_sentences_naming_the_actor(browser, pages):
    page = Page(browser, pages / "graph.speakers.html")
    try:
        edges = page.page.evaluate(
            """() => edges.get().filter(e => e.evidence.length).map(e => ({
                speaker: nodes.get(e.from).name, actor: nodes.get(e.to).name,
                weight: e.details.weight, evidence: e.evidence}))"""
        )
        edges.sort(key=lambda edge: (-edge["weight"], edge["speaker"], edge["actor"]))
        assert edges
        for edge in edges[:15]:
            if page.click_edge(edge["speaker"], edge["actor"]):
                break
            page.page.mouse.click(5, 5)
        else:
            pytest.fail("no speaker edge could be clicked")
        quotes = page.page.eval_on_selector_all("#sb-details blockquote", "els => els.map(e => e.textContent)")
        assert quotes == [item["text"] for item in edge["evidence"]] and 1 <= len(quotes) <= 5
        assert any(edge["actor"].lower() in quote.lower() for quote in quotes), (edge["actor"], quotes)
        notes = page.page.text_content("#sb-details")
        assert edge["evidence"][0]["doc_id"] in notes and edge["speaker"] in notes
        assert all(item["speaker"] for item in edge["evidence"])
        assert page.errors == []
    finally:
        page.close()


def _hostile_graph():
    docs = [
        make_doc(
            f"[{HOSTILE[0]}](ORG) met [{HOSTILE[1]}](PERSON) and [{HOSTILE[2]}](ORG) .",
            meta={"id": "<b>doc</b>", "speaker": "<i>Speaker</i> & co", "date": "2021"},
        ),
        make_doc(f"[{HOSTILE[3]}](ORG) and [{HOSTILE[4]}](ORG) and [{HOSTILE[0]}](ORG) .", meta={"id": "d2"}),
    ]
    return build_network(extract_network(docs)).graph


def test_hostile_names_never_reach_the_page_as_markup():
    page = render_html(_hostile_graph())
    body = page.split("<body>", 1)[1]
    for name in HOSTILE[:3]:
        assert name not in body
    assert "window.__pwned" in body  # present, but only as escaped JSON text
    assert "<img" not in body and "<b>doc" not in body and "<i>Speaker" not in body


def test_hostile_names_show_as_text_in_the_browser(browser, tmp_path):
    graph = _hostile_graph()
    written, _ = write_graph(graph, tmp_path / "hostile.json", ["json", "html"])
    page = Page(browser, tmp_path / "hostile.html")
    try:
        for name in HOSTILE:
            page.search(name)
            assert page.selected_names() == [name]
            assert page.panel_name() == name
        assert page.page.evaluate("typeof window.__pwned") == "undefined"
        assert page.page.evaluate("document.querySelectorAll('img, b, i').length") == 0
        for u, v in graph.edges:
            page.page.mouse.click(5, 5)
            if page.click_edge(u, v):
                text = page.page.text_content("#sb-details")
                assert u in text and v in text and "<b>doc</b>" in text and "<i>Speaker</i> & co" in text
                break
        else:
            pytest.fail("no edge could be clicked")
        assert page.page.evaluate("typeof window.__pwned") == "undefined"
        assert page.errors == []
    finally:
        page.close()


def test_png_draws_the_largest_component_and_counts_the_rest():
    docs = [
        make_doc("[A One](PERSON) met [B Two](PERSON) . [B Two](PERSON) met [C Three](PERSON) ."),
        make_doc("[D Four](PERSON) met [E Five](PERSON) ."),
        make_doc("[F Six](PERSON) spoke ."),
    ]
    graph = build_network(extract_network(docs)).graph
    shown, caption = plot_selection(graph)
    assert sorted(shown) == ["A One", "B Two", "C Three"]
    assert caption == (
        "Drawn: 3 of 6 actors (the largest connected component). "
        "Not drawn: 3 actors in 2 other components (largest 2, isolated actors 1)."
    )
    shown, caption = plot_selection(graph, max_nodes=2)
    assert shown == ["B Two", "A One"] and "highest weighted degree" in caption


def test_the_report_links_the_page(tmp_path, capsys, pages):
    markdown = tmp_path / "report.md"
    code, _, err = run_cli(
        capsys,
        "report",
        "--network",
        pages / "graph.report.json",
        "--network-html",
        pages / "graph.html",
        "--summary",
        tmp_path / "summary.json",
        "--markdown",
        markdown,
    )
    assert code == 0, err
    text = markdown.read_text(encoding="utf8")
    assert "[Explore the network](" in text
    target = text.split("[Explore the network](", 1)[1].split(")", 1)[0]
    assert (markdown.parent / target).resolve() == (pages / "graph.html").resolve()
    assert json.loads((tmp_path / "summary.json").read_text(encoding="utf8"))["network"]["html"] == str(
        pages / "graph.html"
    )
    code, _, err = run_cli(
        capsys, "report", "--network-html", tmp_path / "none.html", "--summary", tmp_path / "s.json"
    )
    assert code == 2 and "network page not found" in err

from nanoscale.retrievers.chunking import chunk_pages, clean_heading
from nanoscale.retrievers.loaders import Page

DOC = """# ECR guide

Intro line.

## Pull fails

Symptom text.
```
# not a heading inside a fence
aws ecr describe-repositories
```

### Fix

Attach the policy.

## Empty section
"""


def test_chunks_follow_headings_with_paths_and_lines():
    chunks = chunk_pages([Page(DOC)], "aws/ecr.md", "md", chunk_size=500, chunk_overlap=50)
    sections = [c.section for c in chunks]
    assert sections == ["ECR guide", "Pull fails", "Pull fails > Fix"]
    assert all(c.title == "ECR guide" for c in chunks)
    pull = chunks[1]
    assert "# not a heading inside a fence" in pull.text
    assert DOC.split("\n")[pull.line_start - 1].startswith("Symptom") or pull.line_start == 7
    assert pull.line_end >= pull.line_start
    assert chunks[2].embed_text().startswith("ECR guide > Pull fails > Fix\n")


def test_long_sections_split_with_overlap_and_stay_in_section():
    body = "\n".join(f"Line {i} about docker build cache and layers." for i in range(200))
    chunks = chunk_pages([Page(f"# T\n\n## Big\n\n{body}\n")], "big.md", "md", 400, 80)
    assert len(chunks) > 10
    assert {c.section for c in chunks} == {"Big"}
    assert all(len(c.text) <= 400 for c in chunks)
    assert chunks[1].line_start <= chunks[0].line_end + 1


def test_markdown_escapes_and_anchors_are_cleaned():
    assert clean_heading('Error: "404" <a name="x"></a>') == 'Error: "404"'
    chunks = chunk_pages([Page("# T\n\n## A\\-B\n\nUse docker 1\\.9\\.\n")], "x.md", "md", 500, 0)
    assert chunks[0].section == "A-B"
    assert "docker 1.9." in chunks[0].text


def test_text_and_pdf_pages_use_file_stem_and_page_labels():
    text = chunk_pages([Page("plain words " * 10)], "notes/run_book.txt", "txt", 500, 0)
    assert text[0].title == "run book"
    pdf = chunk_pages([Page("page two text", first_line=2, label="page 2")], "g.pdf", "pdf", 500, 0)
    assert pdf[0].section == "page 2" and pdf[0].line_start == 2

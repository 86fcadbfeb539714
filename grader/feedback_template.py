"""The template of the feedback page: nbgrader's, saying which items are still pending.

nbgrader's page prints "Score: 0.0 / 3.0" for an item no person has graded yet (its
``Grade.score`` reads 0). This template extends nbgrader's (``templates/feedback``) and
replaces the blocks that print a score, so that a written answer awaiting grading and an item
held for review say so (:class:`grader.feedback.PendingGrades` marks them), and says how late
the submission was and what that cost.
"""

TEMPLATE_NAME = "grader_feedback.html.j2"
# nbgrader's feedback page (templates/feedback/index.html.j2), with pending items said as such:
# the blocks that print a score are nbgrader's, calling macros of their own names (a child
# template cannot replace its parent's macros: the parent defines them again when it renders).
FEEDBACK_TEMPLATE = """\
{%- extends 'index.html.j2' -%}

{% macro points(cell) -%}
{%- if cell.metadata.nbgrader.pending -%}
<span class="pending">{{ cell.metadata.nbgrader.pending | capitalize }}</span>
({{ cell.metadata.nbgrader.points | float | round(2) }} points)
{%- else -%}
Score: {{ cell.metadata.nbgrader.score | float | round(2) }} / \
{{ cell.metadata.nbgrader.points | float | round(2) }}
{%- endif -%}
{%- endmacro %}

{% macro pending_score(cell) -%}
  <span class="pull-right">{{ points(cell) }} <a href="#top">(Top)</a></span>
{%- endmacro %}

{% macro pending_heading(cell) -%}
{%- if cell.metadata.nbgrader.solution or cell.metadata.nbgrader.task -%}
<a name="comment-{{ cell.metadata.nbgrader.grade_id }}"></a>
{%- endif -%}
{%- if cell.metadata.nbgrader.grade -%}
<a name="{{ cell.metadata.nbgrader.grade_id }}"></a>
{%- endif -%}
<div class="panel-heading">
{%- if cell.metadata.nbgrader.solution -%}
  <span class="nbgrader-label">Student's answer</span>
  {%- if cell.metadata.nbgrader.grade -%}{{ pending_score(cell) }}
  {%- else -%}<span class="pull-right"><a href="#top">(Top)</a></span>{%- endif -%}
{%- elif cell.metadata.nbgrader.task -%}
  <span class="nbgrader-label">Student's task</span>{{ pending_score(cell) }}
{%- elif cell.metadata.nbgrader.grade -%}
  <span class="nbgrader-label">Grade cell: <code>{{ cell.metadata.nbgrader.grade_id }}</code>\
</span>{{ pending_score(cell) }}
{%- endif -%}
</div>
{%- endmacro %}

{% macro pending_footer(cell) -%}
{%- if (cell.metadata.nbgrader.solution or cell.metadata.nbgrader.task)
      and cell.metadata.nbgrader.comment -%}
<div class="panel-footer"><div><b>Comments:</b> \
{{ cell.metadata.nbgrader.comment | markdown2html | strip_files_prefix }}</div></div>
{%- endif -%}
{%- endmacro %}

{% block body %}
<body>
  <a name="top"></a>
  <div class="container">
    <div class="panel panel-default">
      <div class="panel-heading">
        <h4 id="total">{{ resources.nbgrader.notebook }} (Score\
{%- if resources.nbgrader.pending %} so far{% endif %}: \
{{ resources.nbgrader.score | float | round(2) }} / \
{{ resources.nbgrader.max_score | float | round(2) }}\
{%- if resources.nbgrader.pending %}; {{ resources.nbgrader.pending | float | round(2) }} \
points awaiting grading{% endif %})</h4>
        {%- if resources.nbgrader.late %}
        <p id="late" class="late-penalty">{{ resources.nbgrader.late }}</p>
        {%- endif %}
        <div id="toc">
          <ol>
          {% for cell in nb.cells %}
            {%- set g = cell.metadata.nbgrader -%}
            {% if g and g.grade and not g.solution %}
            <li><a href="#{{ g.grade_id }}">Test cell</a> ({{ points(cell) }})</li>
            {% elif cell.cell_type == "code" and g and g.grade %}
            <li><a href="#{{ g.grade_id }}">Coding free-response</a> ({{ points(cell) }})</li>
            {% elif cell.cell_type == "markdown" and g and g.grade %}
            <li><a href="#{{ g.grade_id }}">Written response</a> ({{ points(cell) }})</li>
            {% elif cell.cell_type == "markdown" and g and g.task %}
            <li><a href="#{{ g.grade_id }}">Task</a> ({{ points(cell) }})</li>
            {% endif %}
            {% if g and g.comment %}
            <li><a href="#comment-{{ g.grade_id }}">Comment</a></li>
            {% endif %}
          {% endfor %}
          {% if resources.nbgrader.late_penalty > 0 %}
            <li class="late-penalty">Late submission penalty (Score: \
-{{ resources.nbgrader.late_penalty | float | round(2) }})</li>
          {% endif %}
          </ol>
        </div>
      </div>
      <div class="panel-body">
        <div id="notebook" class="border-box-sizing">
          <div class="container" id="notebook-container">
            {{ super.super() }}
          </div>
        </div>
      </div>
    </div>
  </div>
</body>
{%- endblock body %}

{% block markdowncell scoped %}
<div class="cell border-box-sizing text_cell rendered">
  {{ self.empty_in_prompt() }}
  {%- set g = cell.metadata.nbgrader -%}
  {%- if g and (g.solution or g.grade or g.task) -%}
  <div class="panel panel-primary nbgrader_cell">
    {{ pending_heading(cell) }}
    <div class="panel-body"><div class="text_cell_render border-box-sizing rendered_html">
      {{ cell.source | markdown2html | strip_files_prefix }}
    </div></div>
    {{ pending_footer(cell) }}
  </div>
  {%- else -%}
  <div class="inner_cell"><div class="text_cell_render border-box-sizing rendered_html">
    {{ cell.source | markdown2html | strip_files_prefix }}
  </div></div>
  {%- endif -%}
</div>
{% endblock markdowncell %}

{% block input %}
  {%- set g = cell.metadata.nbgrader -%}
  {%- if g and (g.solution or g.grade) -%}
  <div class="panel panel-primary nbgrader_cell">
    {{ pending_heading(cell) }}
    <div class="panel-body"><div class="input_area">
      {{ cell.source | highlight_code(metadata=cell.metadata) }}
    </div></div>
    {{ pending_footer(cell) }}
  </div>
  {%- else -%}
  <div class="inner_cell"><div class="input_area">
    {{ cell.source | highlight_code(metadata=cell.metadata) }}
  </div></div>
  {%- endif -%}
{% endblock input %}
"""

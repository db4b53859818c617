/* The HTML report of propensity compare, generated from the comparison JSON (bench/README.md).
 *
 * One self-contained file: inline CSS and inline SVG charts, no script, no font or image from the
 * network.  Colours are the Okabe-Ito palette (distinguishable with the common colour-vision
 * deficiencies); members also differ by dash pattern, the ensemble is the thick black line.
 * Every chart is an <svg class="chart" id="chart-..."> with a <title>, axis labels and a legend. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ---- small helpers ------------------------------------------------------------------------ */
double num(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  return json_is_number(v) ? json_number_value(v) : NAN;
}

const char *str(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  return json_is_string(v) ? json_string_value(v) : NULL;
}

void esc(FILE *o, const char *s) {
  if (!s) return;
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", o); break;
    case '<': fputs("&lt;", o); break;
    case '>': fputs("&gt;", o); break;
    case '"': fputs("&quot;", o); break;
    case '\'': fputs("&#39;", o); break;
    default: fputc(*s, o);
    }
  }
}

typedef struct style {
  const char *name, *label, *colour, *dash;
  double width;
} style;

/* Okabe-Ito colours, fixed per model so every chart and the table agree. */
static const style k_styles[] = {
    {"ensemble", "ensemble", "#000000", "", 3.2},
    {"xgboost", "XGBoost", "#0072B2", "", 2.0},
    {"random_forest", "random forest", "#009E73", "", 2.0},
    {"svc", "SVC", "#E69F00", "7 3", 2.0},
    {"decision_tree", "decision tree", "#CC79A7", "2 3", 2.2},
    {"knn", "KNN", "#56B4E9", "9 3 2 3", 2.0},
    {"logistic", "logistic", "#D55E00", "5 2", 2.0},
};

static style style_of(const char *name, size_t index) {
  for (size_t i = 0; i < sizeof k_styles / sizeof k_styles[0]; i++)
    if (name && strcmp(k_styles[i].name, name) == 0) return k_styles[i];
  static const char *const spare[] = {"#882255", "#44AA99", "#999933", "#6699CC"};
  style s = {name, name ? name : "?", spare[index % 4], "4 2", 2.0};
  return s;
}

static void dash_attr(FILE *o, const style *s) {
  if (s->dash && *s->dash) fprintf(o, " stroke-dasharray=\"%s\"", s->dash);
}

/* "12,345" / "1.23 M" */
static void fmt_count(char *buf, size_t n, double v) {
  if (!isfinite(v)) snprintf(buf, n, "–");
  else if (v >= 1e7) snprintf(buf, n, "%.1f M", v / 1e6);
  else if (v >= 1e6) snprintf(buf, n, "%.2f M", v / 1e6);
  else if (round(v) >= 1e4) snprintf(buf, n, "%.0f,%03.0f", floor(round(v) / 1000), fmod(round(v), 1000));
  else snprintf(buf, n, "%.0f", v);
}

/* decimals >= 0: fixed; -2: three significant digits for timings (0.0421, 1.37, 14.2, 312) */
static void fmt_num(char *buf, size_t n, double v, int decimals) {
  if (!isfinite(v)) snprintf(buf, n, "–");
  else if (decimals >= 0) snprintf(buf, n, "%.*f", decimals, v);
  else snprintf(buf, n, "%.*f", v >= 100 ? 0 : v >= 10 ? 1 : v >= 1 ? 2 : v >= 0.1 ? 3 : 4, v);
}

/* A step of 1, 2 or 5 x 10^k giving about `want` ticks over [0, hi]. */
static double nice_step(double hi, int want) {
  if (!(hi > 0)) return 1;
  double raw = hi / want, mag = pow(10, floor(log10(raw))), f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/* ---- plotting area ---------------------------------------------------------------------------- */
typedef struct plot {
  double x, y, w, h;     /* pixels */
  double x0, x1, y0, y1; /* data range */
} plot;

static double px(const plot *p, double v) { return p->x + (v - p->x0) / (p->x1 - p->x0) * p->w; }
static double py(const plot *p, double v) { return p->y + p->h - (v - p->y0) / (p->y1 - p->y0) * p->h; }

enum { FMT_FRAC = 0, FMT_PCT = 1, FMT_INT = 2 };

static void tick_label(char *buf, size_t n, double v, int fmt) {
  if (fmt == FMT_PCT) snprintf(buf, n, "%.0f%%", 100 * v);
  else if (fmt == FMT_FRAC) snprintf(buf, n, "%.1f", v);
  else fmt_count(buf, n, v);
}

static void svg_open(FILE *o, const char *id, double w, double h, const char *title) {
  fprintf(o, "<svg class=\"chart\" id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" "
             "width=\"%.0f\" height=\"%.0f\" role=\"img\" aria-labelledby=\"%s-title\">\n<title id=\"%s-title\">",
          id, w, h, w, h, id, id);
  esc(o, title);
  fputs("</title>\n", o);
}

/* Grid, ticks and axis titles.  xstep/ystep: tick spacing in data units. */
static void axes(FILE *o, const plot *p, double xstep, int xfmt, double ystep, int yfmt, const char *xlabel,
                 const char *ylabel) {
  char lab[32];
  fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"plotbg\"/>\n", p->x, p->y, p->w, p->h);
  for (double v = p->y0; v <= p->y1 + 1e-9 * (p->y1 - p->y0); v += ystep) {
    double yy = py(p, v);
    tick_label(lab, sizeof lab, v, yfmt);
    fprintf(o, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
               "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
            p->x, p->x + p->w, yy, yy, p->x - 6, yy + 4, lab);
  }
  if (xstep > 0)
    for (double v = p->x0; v <= p->x1 + 1e-9 * (p->x1 - p->x0); v += xstep) {
      double xx = px(p, v);
      tick_label(lab, sizeof lab, v, xfmt);
      fprintf(o, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
                 "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
              xx, xx, p->y, p->y + p->h, xx, p->y + p->h + 16, lab);
    }
  fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"frame\"/>\n", p->x, p->y, p->w, p->h);
  fprintf(o, "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", p->x + p->w / 2, p->y + p->h + 36);
  esc(o, xlabel);
  fprintf(o, "</text>\n<text class=\"axis\" transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\">",
          p->x - 44, p->y + p->h / 2);
  esc(o, ylabel);
  fputs("</text>\n", o);
}

/* A legend of the models at (x, y), one entry per line. */
static void legend(FILE *o, const json_t *models, double x, double y) {
  size_t i;
  const json_t *m;
  json_array_foreach(models, i, m) {
    style s = style_of(str(m, "name"), i);
    double yy = y + 20.0 * (double)i;
    fprintf(o, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"%.1f\"", x, x + 26,
            yy, yy, s.colour, s.width);
    dash_attr(o, &s);
    fprintf(o, "/><text class=\"legend\" x=\"%.1f\" y=\"%.1f\">", x + 32, yy + 4);
    esc(o, s.label);
    fputs("</text>\n", o);
  }
}

/* One polyline per model from curves.<key> (arrays of [x, y]). */
static void curve_paths(FILE *o, const json_t *models, const char *key, const plot *p) {
  size_t i;
  const json_t *m;
  /* the ensemble last, so it is drawn on top */
  for (int pass = 0; pass < 2; pass++)
    json_array_foreach(models, i, m) {
      const char *name = str(m, "name");
      int is_ens = name && strcmp(name, "ensemble") == 0;
      if (is_ens != pass) continue;
      const json_t *pts = json_object_get(json_object_get(m, "curves"), key);
      if (!json_is_array(pts) || json_array_size(pts) < 2) continue;
      style s = style_of(name, i);
      fprintf(o, "<path class=\"curve\" data-model=\"");
      esc(o, name);
      fprintf(o, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" stroke-linejoin=\"round\"", s.colour, s.width);
      dash_attr(o, &s);
      fputs(" d=\"", o);
      size_t k;
      const json_t *pt;
      json_array_foreach(pts, k, pt) {
        double a = json_number_value(json_array_get(pt, 0)), b = json_number_value(json_array_get(pt, 1));
        fprintf(o, "%s%.1f %.1f", k ? " L" : "M", px(p, a), py(p, b));
      }
      fputs("\"/>\n", o);
    }
}

static void diagonal(FILE *o, const plot *p, const char *label) {
  fprintf(o, "<line class=\"diag\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", px(p, 0), py(p, 0), px(p, 1),
          py(p, 1));
  if (label) {
    fprintf(o, "<text class=\"note\" x=\"%.1f\" y=\"%.1f\" transform=\"rotate(-45 %.1f %.1f)\" text-anchor=\"middle\">",
            px(p, 0.62), py(p, 0.62) + 14, px(p, 0.62), py(p, 0.62) + 14);
    esc(o, label);
    fputs("</text>\n", o);
  }
}

/* ---- charts ----------------------------------------------------------------------------------- */
static void chart_roc(FILE *o, const json_t *models) {
  plot p = {64, 16, 360, 360, 0, 1, 0, 1};
  svg_open(o, "chart-roc", 590, 430, "ROC curves of every model on the test rows");
  axes(o, &p, 0.2, FMT_FRAC, 0.2, FMT_FRAC, "false positive rate", "true positive rate");
  diagonal(o, &p, "random ranking");
  curve_paths(o, models, "roc", &p);
  legend(o, models, 444, 30);
  fputs("</svg>\n", o);
}

static void chart_gains(FILE *o, const json_t *models) {
  plot p = {64, 16, 360, 360, 0, 1, 0, 1};
  svg_open(o, "chart-gains", 590, 430, "Cumulative gains: share of acceptances found against share of the list called");
  axes(o, &p, 0.2, FMT_PCT, 0.2, FMT_PCT, "share of the list called (highest scores first)",
       "share of positives found");
  diagonal(o, &p, "calling at random");
  for (int k = 1; k <= 3; k++) {
    double xx = px(&p, 0.1 * k);
    fprintf(o, "<line class=\"marker\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
               "<text class=\"note\" transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"end\">top %d0%%</text>\n",
            xx, xx, p.y, p.y + p.h, xx - 3, p.y + 4, k);
  }
  curve_paths(o, models, "gains", &p);
  legend(o, models, 444, 30);
  fputs("</svg>\n", o);
}

static int few(const json_t *o) { return json_is_true(json_object_get(o, "few_rows")); }

/* Observed against predicted rate per bin.  The line joins only bins with enough rows; a bin with too
 * few ("few_rows") is a hollow point, not joined: one row would draw the line to 0 or 1.  The
 * ensemble's bins are labelled with their row counts; every point's tooltip gives its count. */
static void chart_reliability(FILE *o, const json_t *models) {
  plot p = {64, 16, 360, 360, 0, 1, 0, 1};
  svg_open(o, "chart-reliability", 590, 430, "Reliability diagram: observed rate against predicted probability");
  axes(o, &p, 0.2, FMT_FRAC, 0.2, FMT_FRAC, "mean predicted probability (10 bins)", "observed share of positives");
  diagonal(o, &p, "perfect calibration");
  size_t i;
  const json_t *m;
  for (int pass = 0; pass < 2; pass++)
    json_array_foreach(models, i, m) {
      const char *name = str(m, "name");
      if ((name && strcmp(name, "ensemble") == 0) != pass) continue;
      const json_t *bins = json_object_get(json_object_get(m, "curves"), "reliability");
      if (!json_is_array(bins) || json_array_size(bins) == 0) continue;
      style s = style_of(name, i);
      fprintf(o, "<path class=\"curve\" data-model=\"");
      esc(o, name);
      fprintf(o, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\"", s.colour, s.width);
      dash_attr(o, &s);
      fputs(" d=\"", o);
      size_t k, drawn = 0;
      const json_t *bn;
      json_array_foreach(bins, k, bn) {
        if (few(bn)) continue;
        fprintf(o, "%s%.1f %.1f", drawn++ ? " L" : "M", px(&p, num(bn, "mean_predicted")),
                py(&p, num(bn, "fraction_positive")));
      }
      if (!drawn) fprintf(o, "M%.1f %.1f", p.x, p.y + p.h); /* every bin muted: an empty path, still valid */
      fputs("\"/>\n", o);
      json_array_foreach(bins, k, bn) {
        double cx = px(&p, num(bn, "mean_predicted")), cy = py(&p, num(bn, "fraction_positive"));
        if (few(bn))
          fprintf(o, "<circle class=\"few\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" stroke=\"%s\">", cx, cy,
                  pass ? 3.5 : 2.5, s.colour);
        else
          fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"%s\">", cx, cy, pass ? 3.5 : 2.5, s.colour);
        fputs("<title>", o);
        esc(o, s.label);
        fprintf(o, ": %.0f rows predicted %.0f–%.0f%%, observed %.1f%%%s</title></circle>", num(bn, "count"),
                100 * num(bn, "lo"), 100 * num(bn, "hi"), 100 * num(bn, "fraction_positive"),
                few(bn) ? " (too few rows to read)" : "");
        if (pass) { /* the ensemble's row counts */
          char lab[32];
          fmt_count(lab, sizeof lab, num(bn, "count"));
          fprintf(o, "<text class=\"count\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>", cx,
                  cy + (cy > p.y + p.h - 20 ? -9 : 15), lab);
        }
      }
      fputs("\n", o);
    }
  legend(o, models, 444, 30);
  fprintf(o, "<circle class=\"few\" cx=\"457\" cy=\"%.0f\" r=\"3.5\" stroke=\"#000\"/>"
             "<text class=\"legend\" x=\"476\" y=\"%.0f\">too few rows</text>\n"
             "<text class=\"count\" x=\"457\" y=\"%.0f\" text-anchor=\"middle\">123</text>"
             "<text class=\"legend\" x=\"476\" y=\"%.0f\">ensemble's rows</text>\n",
          30 + 20.0 * (double)json_array_size(models) + 6, 30 + 20.0 * (double)json_array_size(models) + 10,
          30 + 20.0 * (double)json_array_size(models) + 30, 30 + 20.0 * (double)json_array_size(models) + 30);
  fputs("</svg>\n", o);
}

/* Bars: rows per band (left axis); points: success rate with its Wilson 95% interval and the mean
 * predicted probability (right axis). */
static void chart_bands(FILE *o, const json_t *bands) {
  size_t nb = json_array_size(bands);
  if (nb == 0) return;
  double maxc = 0, maxr = 0;
  size_t i;
  const json_t *b;
  json_array_foreach(bands, i, b) {
    maxc = fmax(maxc, num(b, "count"));
    double hi = num(b, "success_hi"), mp = num(b, "mean_probability");
    if (isfinite(hi)) maxr = fmax(maxr, hi);
    if (isfinite(mp)) maxr = fmax(maxr, mp);
  }
  double cstep = nice_step(maxc, 5), rstep = nice_step(maxr, 5);
  double ctop = cstep * ceil(1.08 * maxc / cstep), rtop = rstep * ceil(maxr / rstep);
  if (!(ctop > 0)) ctop = 1;
  if (!(rtop > 0)) rtop = 1;
  if (rtop > 1) rtop = 1;
  plot p = {70, 16, 440, 300, 0.5, (double)nb + 0.5, 0, ctop};
  plot q = p;
  q.y1 = rtop;
  svg_open(o, "chart-bands", 590, 408, "The ensemble's bands on the test rows: rows and success rate per band");
  axes(o, &p, 0, FMT_INT, cstep, FMT_INT, "", "rows in band");
  fprintf(o, "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">band (range of predicted "
             "probability)</text>\n", p.x + p.w / 2, p.y + p.h + 46);
  char lab[32];
  for (double v = 0; v <= rtop + 1e-9; v += rstep) {
    snprintf(lab, sizeof lab, "%.0f%%", 100 * v);
    fprintf(o, "<text class=\"tick rate\" x=\"%.1f\" y=\"%.1f\">%s</text>\n", p.x + p.w + 6, py(&q, v) + 4, lab);
  }
  fprintf(o, "<text class=\"axis rate\" transform=\"translate(%.1f %.1f) rotate(90)\" text-anchor=\"middle\">"
             "success rate</text>\n", p.x + p.w + 52, p.y + p.h / 2);
  double bw = p.w / (double)nb;
  json_array_foreach(bands, i, b) {
    double cx = px(&p, (double)(i + 1)), c = num(b, "count");
    double top = py(&p, isfinite(c) ? c : 0);
    fprintf(o, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>", cx - bw * 0.36, top,
            bw * 0.72, p.y + p.h - top);
    fmt_count(lab, sizeof lab, c);
    fprintf(o, "<text class=\"barlabel\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>", cx,
            top - 4, lab);
    double lo = num(b, "lo"), hi = num(b, "hi");
    fprintf(o, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%lld</text>"
               "<text class=\"tick small\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f–%.0f%%</text>\n",
            cx, p.y + p.h + 15, (long long)num(b, "band"), cx, p.y + p.h + 28, 100 * lo, 100 * hi);
  }
  json_array_foreach(bands, i, b) {
    double cx = px(&p, (double)(i + 1)), sr = num(b, "success_rate"), lo = num(b, "success_lo"),
           hi = num(b, "success_hi"), mp = num(b, "mean_probability");
    if (isfinite(lo) && isfinite(hi))
      fprintf(o, "<path class=\"whisker\" d=\"M%.1f %.1f L%.1f %.1f M%.1f %.1f L%.1f %.1f M%.1f %.1f L%.1f %.1f\"/>",
              cx, py(&q, lo), cx, py(&q, hi), cx - 6, py(&q, lo), cx + 6, py(&q, lo), cx - 6, py(&q, hi), cx + 6,
              py(&q, hi));
    if (isfinite(mp))
      fprintf(o, "<path class=\"meanp\" d=\"M%.1f %.1f l6 6 l-6 6 l-6 -6 z\"/>", cx + 14, py(&q, mp) - 6);
    if (isfinite(sr))
      fprintf(o, "<circle class=\"rate%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\"/>", few(b) ? " few" : "", cx, py(&q, sr));
    if (few(b)) fprintf(o, "<text class=\"count\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">few rows</text>", cx,
                        p.y + 12);
    fputs("\n", o);
  }
  /* legend under the axis title */
  double ly = 392;
  fprintf(o, "<rect class=\"bar\" x=\"70\" y=\"%.0f\" width=\"16\" height=\"12\"/>"
             "<text class=\"legend\" x=\"92\" y=\"%.0f\">rows</text>", ly - 10, ly);
  fprintf(o, "<path class=\"whisker\" d=\"M156 %.0f L156 %.0f M151 %.0f L161 %.0f M151 %.0f L161 %.0f\"/>"
             "<circle class=\"rate\" cx=\"156\" cy=\"%.0f\" r=\"5\"/>"
             "<text class=\"legend\" x=\"168\" y=\"%.0f\">success rate, Wilson 95%% interval</text>",
          ly - 12, ly + 8, ly - 12, ly - 12, ly + 8, ly + 8, ly - 2, ly);
  fprintf(o, "<path class=\"meanp\" d=\"M420 %.0f l6 6 l-6 6 l-6 -6 z\"/>"
             "<text class=\"legend\" x=\"432\" y=\"%.0f\">mean predicted</text>\n", ly - 10, ly);
  fputs("</svg>\n", o);
}

/* Horizontal bars of each entry's "share" (the top 25), labelled by its "feature". */
static void chart_shares(FILE *o, const json_t *imp, const char *id, const char *title, const char *axis) {
  size_t n = json_array_size(imp), shown = n < 25 ? n : 25;
  if (shown == 0) return;
  double maxs = 0;
  for (size_t i = 0; i < shown; i++) maxs = fmax(maxs, num(json_array_get(imp, i), "share"));
  double step = nice_step(maxs, 4), top = step * ceil(maxs / step);
  if (!(top > 0)) top = 1;
  double rowh = 22, h = 16 + rowh * (double)shown;
  plot p = {190, 16, 340, h, 0, top, 0, 1};
  svg_open(o, id, 590, h + 60, title);
  fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"plotbg\"/>\n", p.x, p.y, p.w, p.h);
  char lab[32];
  for (double v = 0; v <= top + 1e-9; v += step) {
    double xx = px(&p, v);
    snprintf(lab, sizeof lab, "%.0f%%", 100 * v);
    fprintf(o, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
               "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
            xx, xx, p.y, p.y + p.h, xx, p.y + p.h + 16, lab);
  }
  for (size_t i = 0; i < shown; i++) {
    const json_t *e = json_array_get(imp, i);
    double s = num(e, "share"), yy = p.y + 8 + rowh * (double)i;
    if (!isfinite(s)) s = 0;
    fprintf(o, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", p.x - 8, yy + rowh / 2 + 1);
    esc(o, str(e, "feature"));
    fprintf(o, "</text><rect class=\"impbar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>"
               "<text class=\"barlabel\" x=\"%.1f\" y=\"%.1f\">%.1f%%</text>\n",
            p.x, yy + 3, px(&p, s) - p.x, rowh - 6, px(&p, s) + 5, yy + rowh / 2 + 1, 100 * s);
  }
  fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"frame\"/>\n", p.x, p.y, p.w, p.h);
  fprintf(o, "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s%s</text>\n", p.x + p.w / 2,
          p.y + p.h + 36, axis, n > shown ? " (top 25 features)" : "");
  fputs("</svg>\n", o);
}

static void chart_importance(FILE *o, const json_t *imp, const char *member) {
  char title[160];
  snprintf(title, sizeof title, "Feature importance of the ensemble (from its %s member)", member ? member : "?");
  chart_shares(o, imp, "chart-importance", title, "share of the total importance");
}

/* The beeswarm of the top inputs' contributions: one row per input, a point per explained test row at its
 * contribution (log-odds), jittered up and down, coloured from blue (a low value of the input) to red
 * (a high one), grey for a category or a missing value. */
static void chart_beeswarm(FILE *o, const json_t *inputs) {
  size_t rows = 0;
  double lo = 0, hi = 0;
  for (size_t i = 0; i < json_array_size(inputs); i++) {
    const json_t *pts = json_object_get(json_array_get(inputs, i), "points");
    if (!json_is_array(pts)) break;
    rows = i + 1;
    for (size_t k = 0; k < json_array_size(pts); k++) {
      double c = json_number_value(json_array_get(json_array_get(pts, k), 0));
      lo = fmin(lo, c), hi = fmax(hi, c);
    }
  }
  if (!rows) return;
  const double rowh = 28, h = 16 + rowh * (double)rows, span = fmax(hi - lo, 1e-9);
  plot p = {190, 16, 340, h, lo - 0.05 * span, hi + 0.05 * span, 0, 1};
  svg_open(o, "chart-beeswarm", 590, h + 60, "Contributions of the top inputs, one point per test row");
  fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"plotbg\"/>\n", p.x, p.y, p.w, p.h);
  const double step = nice_step(p.x1 - p.x0, 5);
  for (double v = step * ceil(p.x0 / step); v <= p.x1 + 1e-12; v += step)
    fprintf(o, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
               "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n",
            px(&p, v), px(&p, v), p.y, p.y + p.h, px(&p, v), p.y + p.h + 16, fabs(v) < 1e-12 ? 0.0 : v);
  for (size_t i = 0; i < rows; i++) {
    const json_t *e = json_array_get(inputs, i), *pts = json_object_get(e, "points");
    double yy = p.y + 8 + rowh * (double)i + rowh / 2;
    fprintf(o, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", p.x - 8, yy + 3);
    esc(o, str(e, "feature"));
    fputs("</text>\n", o);
    for (size_t k = 0; k < json_array_size(pts); k++) {
      const json_t *pt = json_array_get(pts, k), *col = json_array_get(pt, 1);
      double c = json_number_value(json_array_get(pt, 0)), jitter = (double)((k * 2654435761u) % 1000) / 1000.0 - 0.5;
      char fill[16] = "#999999";
      if (json_is_number(col)) {
        double t = json_number_value(col);
        snprintf(fill, sizeof fill, "#%02x%02x%02x", (int)(40 + 200 * t), 70, (int)(240 - 200 * t));
      }
      fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2\" fill=\"%s\" fill-opacity=\"0.7\"/>", px(&p, c),
              yy + jitter * (rowh - 10), fill);
    }
    fputc('\n', o);
  }
  fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"frame\"/>\n", p.x, p.y, p.w, p.h);
  fprintf(o, "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">contribution to the log-odds</text>"
             "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">blue: a low value of the input, red: a "
             "high one, grey: a category or missing</text>\n", p.x + p.w / 2, p.y + p.h + 34, p.x + p.w / 2,
          p.y + p.h + 50);
  fputs("</svg>\n", o);
}

/* The name of back-test month e: its "period" ("2026-06", "6"), else its number. */
static void period_label(char *buf, size_t n, const json_t *e) {
  const char *s = str(e, "period");
  if (s) snprintf(buf, n, "%s", s);
  else snprintf(buf, n, "%g", num(e, "month"));
}

/* The back-test: AUC and top-30% capture per month, the months evenly spaced in time order (a key
 * such as 202606 is no distance: 202612 and 202701 are neighbours). */
static void chart_months(FILE *o, const json_t *months) {
  size_t n = json_array_size(months);
  if (n == 0) return;
  size_t i;
  const json_t *e;
  double pad = n == 1 ? 1 : 0.5, lo = 1;
  json_array_foreach(months, i, e) {
    double a = num(e, "auc"), c = num(e, "capture_30");
    if (isfinite(a)) lo = fmin(lo, a);
    if (isfinite(c)) lo = fmin(lo, c);
  }
  double y0 = floor((lo - 0.05) * 10) / 10; /* zoom in on the values, from a tenth below the lowest */
  y0 = y0 < 0 ? 0 : (y0 > 0.8 ? 0.8 : y0);
  plot p = {64, 16, 440, 300, -pad, (double)(n - 1) + pad, y0, 1};
  svg_open(o, "chart-months", 590, 410, "Back-test: AUC and top-30% capture of each month, trained on the months before");
  axes(o, &p, 0, FMT_INT, 1 - y0 > 0.5 ? 0.2 : 0.1, FMT_FRAC, "month scored (trained on all earlier months)",
       "AUC / share captured");
  char lab[32];
  json_array_foreach(months, i, e) {
    period_label(lab, sizeof lab, e);
    fprintf(o, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", px(&p, (double)i), p.y + p.h + 16);
    esc(o, lab);
    fputs("</text>\n", o);
  }
  static const struct {
    const char *key, *label, *colour, *dash;
  } series[2] = {{"auc", "AUC", "#0072B2", ""}, {"capture_30", "top-30% capture", "#D55E00", "6 3"}};
  for (int s = 0; s < 2; s++) {
    fprintf(o, "<path class=\"curve\" fill=\"none\" stroke=\"%s\" stroke-width=\"2.4\"%s%s%s d=\"", series[s].colour,
            *series[s].dash ? " stroke-dasharray=\"" : "", series[s].dash, *series[s].dash ? "\"" : "");
    int first = 1;
    json_array_foreach(months, i, e) {
      double v = num(e, series[s].key), m = (double)i;
      if (!isfinite(v)) continue;
      fprintf(o, "%s%.1f %.1f", first ? "M" : " L", px(&p, m), py(&p, v));
      first = 0;
    }
    if (first) fprintf(o, "M%.1f %.1f", p.x, p.y + p.h); /* no values: an empty path, still valid */
    fputs("\"/>\n", o);
    json_array_foreach(months, i, e) {
      double v = num(e, series[s].key), m = (double)i;
      if (!isfinite(v)) continue;
      fprintf(o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/><text class=\"barlabel\" x=\"%.1f\" y=\"%.1f\" "
                 "text-anchor=\"middle\">%.3f</text>\n",
              px(&p, m), py(&p, v), series[s].colour, px(&p, m), py(&p, v) + (s ? 18 : -9), v);
    }
    double lx = p.x + 10 + 170 * s, ly = p.y + p.h + 56;
    fprintf(o, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2.4\"%s%s%s/>"
               "<text class=\"legend\" x=\"%.1f\" y=\"%.1f\">%s</text>\n",
            lx, lx + 26, ly, ly, series[s].colour, *series[s].dash ? " stroke-dasharray=\"" : "", series[s].dash,
            *series[s].dash ? "\"" : "", lx + 32, ly + 4, series[s].label);
  }
  fputs("</svg>\n", o);
}

/* ---- tables ----------------------------------------------------------------------------------- */
typedef struct column {
  const char *key, *head, *tip;
  int decimals; /* -1: a count; -2: three significant digits */
  int higher_better;
} column;

static const column k_cols[] = {
    {"auc", "AUC", "area under the ROC curve", 4, 1},
    {"pr_auc", "PR-AUC", "average precision", 4, 1},
    {"ks", "KS", "Kolmogorov-Smirnov statistic", 3, 1},
    {"logloss", "log-loss", "mean log-loss of the probabilities", 4, 0},
    {"brier", "Brier", "mean squared error of the probabilities", 4, 0},
    {"ece", "ECE", "expected calibration error, 10 bins", 4, 0},
    {"capture_10", "top 10%", "share of positives in the top 10% of the list", 3, 1},
    {"capture_20", "top 20%", "share of positives in the top 20%", 3, 1},
    {"capture_30", "top 30%", "share of positives in the top 30%", 3, 1},
    {"fit_seconds", "fit s", "wall-clock fit time, seconds", -2, 0},
    {"predict_rows_per_second", "rows/s", "batch scoring of the test rows (median run)", -1, 1},
    {"latency_p50_us", "p50 µs", "median single-row latency, microseconds", -2, 0},
    {"latency_p99_us", "p99 µs", "99th percentile single-row latency, microseconds", -2, 0},
};

/* The AUC's DeLong interval, and a member's paired test against the ensemble ("–" for the ensemble). */
static void auc_cells(FILE *o, const json_t *m) {
  double lo = num(m, "auc_ci_low"), hi = num(m, "auc_ci_high");
  if (isfinite(lo) && isfinite(hi)) fprintf(o, "<td class=\"ci\">%.3f–%.3f</td>", lo, hi);
  else fputs("<td class=\"ci\">–</td>", o);
  const json_t *t = json_object_get(m, "vs_ensemble");
  double d = num(t, "auc_difference"), pv = num(t, "p_value");
  if (!isfinite(d) || !isfinite(pv)) fputs("<td class=\"ci\">–</td>", o);
  else if (pv < 0.001) fprintf(o, "<td class=\"ci%s\">%+.4f<br>p &lt; 0.001</td>", pv < 0.05 ? " sig" : "", d);
  else fprintf(o, "<td class=\"ci%s\">%+.4f<br>p %.3f</td>", pv < 0.05 ? " sig" : "", d, pv);
}

static void metrics_table(FILE *o, const json_t *models) {
  size_t nc = sizeof k_cols / sizeof k_cols[0];
  double best[sizeof k_cols / sizeof k_cols[0]];
  for (size_t c = 0; c < nc; c++) {
    best[c] = NAN;
    size_t i;
    const json_t *m;
    json_array_foreach(models, i, m) {
      double v = num(m, k_cols[c].key);
      if (isfinite(v) && (!isfinite(best[c]) || (k_cols[c].higher_better ? v > best[c] : v < best[c]))) best[c] = v;
    }
  }
  fputs("<table class=\"metrics\" id=\"metrics-table\">\n<thead><tr><th class=\"name\">model</th>", o);
  for (size_t c = 0; c < nc; c++) {
    fprintf(o, "<th title=\"%s\">%s</th>", k_cols[c].tip, k_cols[c].head);
    if (c == 0)
      fputs("<th title=\"DeLong 95% confidence interval of the AUC\">AUC<br>95% CI</th><th title=\"the ensemble's AUC "
            "minus this member's, and the p-value of the paired DeLong test that they are equal\">ensemble<br>gain, p</th>", o);
  }
  fputs("</tr></thead>\n<tbody>\n", o);
  size_t i;
  const json_t *m;
  json_array_foreach(models, i, m) {
    const char *name = str(m, "name");
    style s = style_of(name, i);
    fprintf(o, "<tr%s><td class=\"name\"><span class=\"swatch\" style=\"background:%s\"></span>",
            name && strcmp(name, "ensemble") == 0 ? " class=\"ens\"" : "", s.colour);
    esc(o, s.label);
    fputs("</td>", o);
    for (size_t c = 0; c < nc; c++) {
      double v = num(m, k_cols[c].key);
      char buf[32];
      if (k_cols[c].decimals == -1) fmt_count(buf, sizeof buf, v);
      else fmt_num(buf, sizeof buf, v, k_cols[c].decimals);
      fprintf(o, "<td%s>%s</td>", isfinite(v) && v == best[c] ? " class=\"best\"" : "", buf);
      if (c == 0) auc_cells(o, m);
    }
    fputs("</tr>\n", o);
  }
  fputs("</tbody></table>\n", o);
}

static void pct_cell(FILE *o, double v) {
  if (isfinite(v)) fprintf(o, "<td>%.1f%%</td>", 100 * v);
  else fputs("<td>–</td>", o);
}

static void band_table(FILE *o, const json_t *bands, long long min_rows) {
  int conn = 0, any_few = 0;
  size_t i;
  const json_t *b;
  json_array_foreach(bands, i, b) {
    conn |= json_is_number(json_object_get(b, "connect_rate"));
    any_few |= few(b);
  }
  fputs("<table class=\"bands\" id=\"band-table\"><thead><tr><th>band</th><th>range</th><th>rows</th><th>share</th>"
        "<th>positives</th><th>success</th><th>95% interval</th><th>lift</th><th>mean p</th>", o);
  if (conn) fputs("<th>connect rate</th><th>success | connected</th>", o);
  fputs("</tr></thead><tbody>\n", o);
  for (size_t k = json_array_size(bands); k-- > 0;) {
    b = json_array_get(bands, k);
    char cnt[32], pos[32];
    fmt_count(cnt, sizeof cnt, num(b, "count"));
    fmt_count(pos, sizeof pos, num(b, "positives"));
    fprintf(o, "<tr%s><td>%lld</td><td>%.0f–%.0f%%</td><td>%s%s</td>", few(b) ? " class=\"few\"" : "",
            (long long)num(b, "band"), 100 * num(b, "lo"), 100 * num(b, "hi"), cnt, few(b) ? " †" : "");
    pct_cell(o, num(b, "share"));
    fprintf(o, "<td>%s</td>", pos);
    pct_cell(o, num(b, "success_rate"));
    double lo = num(b, "success_lo"), hi = num(b, "success_hi"), lift = num(b, "lift");
    if (isfinite(lo)) fprintf(o, "<td>%.1f–%.1f%%</td>", 100 * lo, 100 * hi);
    else fputs("<td>–</td>", o);
    if (isfinite(lift)) fprintf(o, "<td>%.2f</td>", lift);
    else fputs("<td>–</td>", o);
    pct_cell(o, num(b, "mean_probability"));
    if (conn) {
      pct_cell(o, num(b, "connect_rate"));
      pct_cell(o, num(b, "success_among_connected"));
    }
    fputs("</tr>\n", o);
  }
  fputs("</tbody></table>\n", o);
  if (any_few) fprintf(o, "<p class=\"what\">† fewer than %lld test rows: the band's success rate, interval and lift "
                       "rest on too few calls to read.</p>\n", min_rows);
}

static const char k_css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;background:#f4f5f7;color:#1d2330;font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,"
    "'DejaVu Sans',Arial,sans-serif}"
    "main{max-width:1240px;margin:0 auto;padding:24px 28px 40px}"
    "header{background:#1d2b45;color:#fff;padding:22px 28px}"
    "header .in{max-width:1240px;margin:0 auto;padding:0 28px}"
    "h1{margin:0 0 6px;font-size:24px;font-weight:600}"
    "header p{margin:2px 0;color:#c9d3e6;font-size:13px}"
    "h2{font-size:16px;margin:0 0 4px;font-weight:600}"
    ".card{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:16px 18px;margin:0 0 18px}"
    ".card p.what{margin:0 0 10px;color:#5b6476;font-size:12.5px}"
    ".grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:18px}"
    ".grid .card{margin:0}"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}"
    "th,td{padding:6px 8px;text-align:right;border-bottom:1px solid #e6e9ef;white-space:nowrap}"
    "th{font-weight:600;color:#3c4456;font-size:12.5px;background:#f7f8fa;border-bottom:2px solid #d5dae3}"
    "td.name,th.name{text-align:left}"
    "tr.ens td{font-weight:600;background:#fafbfc}"
    "td.best{color:#0b5394;font-weight:700}"
    ".swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:8px;vertical-align:-1px}"
    ".facts{display:flex;flex-wrap:wrap;gap:6px 22px;margin:10px 0 0;font-size:13px;color:#dfe6f3}"
    ".facts b{color:#fff;font-weight:600}"
    "svg.chart{display:block;max-width:100%;height:auto;margin-top:6px}"
    "svg .plotbg{fill:#fbfcfd}svg .frame{fill:none;stroke:#9aa3b2;stroke-width:1}"
    "svg .grid{stroke:#e3e7ee;stroke-width:1}"
    "svg text{font-family:system-ui,'DejaVu Sans',Arial,sans-serif;fill:#2a3040}"
    "svg .tick{font-size:11px;fill:#5b6476}svg .small{font-size:9.5px}"
    "svg .axis{font-size:12px;fill:#2a3040}svg .legend{font-size:12px}"
    "svg .note{font-size:10.5px;fill:#8a93a3}"
    "svg .diag{stroke:#9aa3b2;stroke-width:1.2;stroke-dasharray:4 4}"
    "svg .marker{stroke:#c4cad5;stroke-width:1;stroke-dasharray:2 3}"
    "svg .bar{fill:#56B4E9;fill-opacity:.55;stroke:#2b8ac2;stroke-width:1}"
    "svg .impbar{fill:#0072B2;fill-opacity:.8}"
    "svg .barlabel{font-size:10.5px;fill:#3c4456}"
    "svg .whisker{stroke:#000;stroke-width:1.6;fill:none}"
    "svg circle.rate{fill:#D55E00;stroke:#000;stroke-width:1}"
    "svg .meanp{fill:#fff;stroke:#009E73;stroke-width:2}"
    "svg .rate{fill:#D55E00}"
    "svg circle.few{fill:#fff;stroke-width:1.4;stroke-dasharray:2 1.5}svg circle.rate.few{fill:#fff;stroke:#D55E00}"
    "svg .count{font-size:9.5px;fill:#5b6476}"
    "td.ci{color:#3c4456;font-size:12px;line-height:1.25}td.sig{font-weight:700}"
    ".tablewrap{overflow-x:auto}table.metrics th,table.metrics td{padding:5px 4px;font-size:12.5px}"
    "tr.few td{color:#8a93a3;font-style:italic}"
    ".rec{border-left:5px solid #0072B2}.rec p.verdict{margin:4px 0 8px;font-size:14.5px;line-height:1.55}"
    ".grid .card.wide{grid-column:1/-1}.grid .card.wide svg.chart{margin:6px auto 0}"
    "p.note{color:#5b6476;font-size:12.5px;margin:10px 2px 0}"
    "footer{color:#7a8394;font-size:12px;margin-top:8px}"
    "@media (max-width:900px){.grid{grid-template-columns:1fr}}";

/* The answer first: which model, why, at what cost (the JSON's "recommendation"). */
static void recommendation_card(FILE *o, const json_t *rec) {
  const char *text = str(rec, "text");
  if (!text) return;
  fputs("<section class=\"card rec\" id=\"recommendation\"><h2>Which model to use</h2>\n<p class=\"verdict\">", o);
  esc(o, text);
  fprintf(o, "</p>\n<p class=\"what\">How it is decided: every AUC with its DeLong 95%% interval; a paired DeLong "
             "test of the ensemble against each member on the same test rows (two-sided, alpha %.2f). A member the "
             "test shows better than the ensemble wins; else the cheapest to run (p99 latency, then fit time) of the "
             "members the test cannot tell from the ensemble; else the ensemble. A model that is not shown worse "
             "may still be worse by up to its interval's upper end: the text says by how much.</p>\n</section>\n",
          num(rec, "alpha"));
}

char *report_html(const char *json_text, size_t *len) {
  json_error_t err;
  json_t *root = json_loads(json_text, 0, &err);
  if (!root) return NULL;
  char *buf = NULL;
  size_t blen = 0;
  FILE *o = open_memstream(&buf, &blen);
  if (!o) {
    json_decref(root);
    return NULL;
  }
  const json_t *ds = json_object_get(root, "dataset"), *sp = json_object_get(ds, "split"),
               *mach = json_object_get(root, "machine"), *models = json_object_get(root, "models"),
               *bands = json_object_get(root, "bands"), *imp = json_object_get(root, "importance"),
               *months = json_object_get(root, "months");
  const char *path = str(ds, "path");
  fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Model comparison", o);
  if (path) {
    fputs(" – ", o);
    esc(o, path);
  }
  fprintf(o, "</title>\n<style>%s</style>\n</head>\n<body>\n<header><div class=\"in\">\n<h1>Model comparison</h1>\n",
          k_css);
  fputs("<p>Every member of the recipe fitted alone, and the whole ensemble, measured on the same held-out rows.</p>\n",
        o);
  char rows[32], tr[32], te[32], pos[32];
  fmt_count(rows, sizeof rows, num(ds, "rows"));
  fmt_count(tr, sizeof tr, num(ds, "train_rows"));
  fmt_count(te, sizeof te, num(ds, "test_rows"));
  fmt_count(pos, sizeof pos, num(ds, "test_positives"));
  fputs("<div class=\"facts\">", o);
  fputs("<span>data <b>", o);
  esc(o, path ? path : "(in memory)");
  fprintf(o, "</b></span><span>rows <b>%s</b> (train %s, test %s)</span>", rows, tr, te);
  fputs("<span>target <b>", o);
  esc(o, str(ds, "target"));
  fputs(" = ", o);
  esc(o, str(ds, "positive_label"));
  fprintf(o, "</b> (%s in test)</span>", pos);
  const char *method = str(sp, "method");
  if (method && strcmp(method, "last_month") == 0) {
    fputs("<span>split <b>last month held out</b> (", o);
    esc(o, str(sp, "time_column"));
    fputs(" = ", o);
    if (str(sp, "test_period")) esc(o, str(sp, "test_period"));
    else fprintf(o, "%g", num(sp, "test_month"));
    fputs(")</span>", o);
  } else if (method && strcmp(method, "test_data") == 0) {
    fputs("<span>test rows <b>from ", o);
    esc(o, str(sp, "test_path") ? str(sp, "test_path") : "(in memory)");
    fputs("</b></span>", o);
  } else {
    fprintf(o, "<span>split <b>stratified %.0f%% test</b> (seed %lld)</span>", 100 * num(sp, "test_frac"),
            (long long)num(sp, "seed"));
  }
  fputs("<span>machine <b>", o);
  esc(o, str(mach, "cpu_model"));
  fprintf(o, "</b>, %lld threads used of %lld</span>", (long long)num(mach, "threads_used"),
          (long long)num(mach, "cores"));
  fputs("<span>created <b>", o);
  esc(o, str(root, "created_at"));
  fputs("</b></span></div>\n</div></header>\n<main>\n", o);

  recommendation_card(o, json_object_get(root, "recommendation"));
  fputs("<section class=\"card\" id=\"metrics\"><h2>Metrics on the test rows</h2>\n<p class=\"what\">Best value of "
        "each column in blue. Members are fitted alone on the training rows with the recipe's encoders; the ensemble "
        "is the full pipeline (cross-validated selection, vote weights and calibration), so its fit time includes the "
        "cross-validation. Members' probabilities are their own, uncalibrated: compare members on AUC, not on "
        "log-loss, Brier or ECE. AUC 95% CI: DeLong; ensemble gain: the ensemble's AUC minus the member's, with the "
        "paired DeLong test's p (bold below 0.05). rows/s: median of up to ",
        o);
  const json_t *tm = json_object_get(root, "timing");
  fprintf(o, "%lld batch runs over the test rows; latency: one row per call, p50/p99 of %lld calls per model.</p>\n",
          (long long)num(tm, "batch_runs"), json_array_size(models) ? (long long)num(json_array_get(models, 0),
                                                                                     "latency_runs")
                                                                    : 0LL);
  fputs("<div class=\"tablewrap\">", o);
  metrics_table(o, models);
  fputs("</div></section>\n<div class=\"grid\">\n", o);

  fputs("<section class=\"card\"><h2>ROC curves</h2><p class=\"what\">True against false positive rate as the "
        "threshold falls; further up and left ranks better.</p>\n", o);
  chart_roc(o, models);
  fputs("</section>\n<section class=\"card\"><h2>Cumulative gains</h2><p class=\"what\">Share of all positives "
        "reached when calling the top of each model's list.</p>\n", o);
  chart_gains(o, models);
  fputs("</section>\n<section class=\"card\"><h2>Reliability diagram</h2><p class=\"what\">Observed share of "
        "positives per bin of predicted probability; on the diagonal means calibrated.</p>\n", o);
  chart_reliability(o, models);
  fputs("</section>\n<section class=\"card\"><h2>The ensemble's bands</h2><p class=\"what\">Test rows per band "
        "(bars), the observed success rate with its Wilson 95% interval (points), and the mean predicted "
        "probability (diamonds).</p>\n", o);
  chart_bands(o, bands);
  fputs("</section>\n", o);
  /* the last row: importance and the back-test side by side, or whichever exists across the row, so
   * that no card stands empty */
  const char *imp_member = str(root, "importance_member");
  const json_t *contrib = json_object_get(root, "contributions");
  int has_contrib = json_is_object(contrib) && json_array_size(json_object_get(contrib, "inputs")) > 0;
  int has_imp = has_contrib || (imp_member && json_array_size(imp) > 0), has_months = json_array_size(months) > 0;
  const char *wide = has_imp && has_months ? "" : " wide";
  if (has_contrib) {
    fprintf(o, "<section class=\"card%s\" id=\"contributions\"><h2>What drives the ensemble</h2><p class=\"what\">"
               "Mean |contribution| of each input to the ensemble's log-odds over %.0f test rows (exact TreeSHAP for "
               "the tree members, exact for logistic, sampled for svc and knn), and for the top inputs each row's "
               "contribution.</p>\n", wide, num(contrib, "rows"));
    chart_shares(o, json_object_get(contrib, "inputs"), "chart-contributions",
                 "Mean absolute contribution of each input", "share of the total mean |contribution|");
    chart_beeswarm(o, json_object_get(contrib, "inputs"));
    fputs("</section>\n", o);
  } else if (has_imp) {
    fprintf(o, "<section class=\"card%s\" id=\"importance\"><h2>Feature importance</h2><p class=\"what\">"
               "Gain / impurity importance from the ensemble's ", wide);
    esc(o, imp_member);
    fputs(" member, summed per original input.</p>\n", o);
    chart_importance(o, imp, imp_member);
    fputs("</section>\n", o);
  }
  if (has_months) {
    fprintf(o, "<section class=\"card%s\" id=\"backtest\"><h2>Back-test by month</h2><p class=\"what\">Each month "
               "scored by the pipeline trained on all months before it.</p>\n", wide);
    chart_months(o, months);
    fputs("</section>\n", o);
  }
  fputs("</div>\n", o);
  if (!has_imp || !has_months) {
    fputs("<p class=\"note\" id=\"not-shown\">", o);
    if (!has_imp) fputs("No member of the ensemble reports importance. ", o);
    if (!has_months)
      fputs(str(sp, "time_column") ? "The monthly back-test was not run (--no-backtest)." :
                                     "No time column was given, so there is no monthly back-test.", o);
    fputs("</p>\n", o);
  }
  fputs("<section class=\"card\" style=\"margin-top:18px\"><h2>Band table (ensemble, test rows)</h2>\n", o);
  band_table(o, bands, (long long)num(root, "min_rows"));
  fputs("</section>\n", o);
  fprintf(o, "<footer>Generated by propensity compare (library %s, report schema_version %lld). Dataset SHA-256 ",
          str(root, "library_version") ? str(root, "library_version") : "?", (long long)num(root, "schema_version"));
  esc(o, str(ds, "sha256") ? str(ds, "sha256") : "–");
  fputs(".</footer>\n</main>\n</body>\n</html>\n", o);
  int bad = ferror(o);
  fclose(o);
  json_decref(root);
  if (bad) {
    free(buf);
    return NULL;
  }
  if (len) *len = blen;
  return buf;
}

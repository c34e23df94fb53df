// gaze report's script: reads the results embedded in #gaze-data, then draws the cards of the
// current view, the pager, the summary and the failures. The view (filters, sort, search, page)
// lives in the URL's hash, so that a link reproduces it. Every text from the data goes into the
// page through textContent or setAttribute, never as HTML.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('gaze-data').textContent);
  var classes = data.classes;
  var SVG = 'http://www.w3.org/2000/svg';  // a namespace name for createElementNS, not a fetch

  // Each result with its probabilities by class position (0 where a class was not recorded:
  // with --top-predictions K the others are below the K-th) and its predicted class.
  var results = data.results.map(function (r, order) {
    var probs = new Float64Array(classes.length);
    r.p.forEach(function (pair) { probs[pair[0]] = pair[1]; });
    return { file: r.f, name: r.f.toLowerCase(), preds: r.p, probs: probs,
             top: r.p.length ? r.p[0][0] : -1, rating: typeof r.r === 'number' ? r.r : null,
             panel: r.s || '', evals: r.v || [], order: order };
  });
  var hasRating = results.some(function (r) { return r.rating !== null; });

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (k) { node.setAttribute(k, attributes[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function fmt(p) { return p >= 0.001 || p === 0 ? p.toFixed(3) : p.toExponential(1); }
  function classIndex(name) { return name ? classes.indexOf(name) : -1; }

  // --- the view in the hash: class, of, min, max, sort, order, q, page -----------------------
  var KEYS = ['class', 'of', 'min', 'max', 'sort', 'order', 'q', 'page'];
  function readHash() {
    var view = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (part) {
      if (!part) return;
      var eq = part.indexOf('=');
      var key = decodeURIComponent(eq < 0 ? part : part.slice(0, eq));
      var value = eq < 0 ? '' : part.slice(eq + 1).replace(/\+/g, ' ');
      try { value = decodeURIComponent(value); } catch (e) { /* keep it as written */ }
      if (KEYS.indexOf(key) >= 0) view[key] = value;
    });
    return view;
  }
  function writeHash(view) {
    var parts = [];
    KEYS.forEach(function (k) {
      if (view[k] !== undefined && view[k] !== '') {
        parts.push(k + '=' + encodeURIComponent(view[k]));
      }
    });
    return parts.join('&');
  }
  function go(view) {
    var hash = writeHash(view);
    if (location.hash.replace(/^#/, '') === hash) render(); else location.hash = hash;
  }
  function number(text, fallback) {
    var v = parseFloat(text);
    return isFinite(v) ? v : fallback;
  }

  // --- filtering and sorting ---------------------------------------------------------------
  function rangeValue(r, of) {
    if (of === 'rating') return r.rating;
    return of >= 0 ? r.probs[of] : (r.top >= 0 ? r.probs[r.top] : 0);
  }
  function matching(view) {
    var cls = classIndex(view['class']);
    var of = view.of === 'rating' ? 'rating' : (view.of ? classIndex(view.of) : cls);
    var min = number(view.min, -Infinity), max = number(view.max, Infinity);
    var q = (view.q || '').toLowerCase();
    var picked = results.filter(function (r) {
      if (view['class'] && r.top !== cls) return false;
      if (q && r.name.indexOf(q) < 0) return false;
      if (view.min || view.max) {
        var v = rangeValue(r, of);
        if (v === null || v < min || v > max) return false;
      }
      return true;
    });
    var key = view.sort || '', sortClass = classIndex(key);
    var ascending = view.order ? view.order === 'asc' : (key === '' || key === 'file');
    var sign = ascending ? 1 : -1;
    var compare = function () { return 0; };  // file order: the order the results were read
    if (key === 'file') {
      compare = function (a, b) { return a.file < b.file ? -1 : a.file > b.file ? 1 : 0; };
    } else if (key === 'rating') {
      compare = function (a, b) { return a.rating - b.rating; };
    } else if (sortClass >= 0) {
      compare = function (a, b) { return a.probs[sortClass] - b.probs[sortClass]; };
    }
    return picked.sort(function (a, b) {
      if (key === 'rating' && (a.rating === null) !== (b.rating === null)) {
        return a.rating === null ? 1 : -1;  // the unrated last, whichever the order
      }
      return sign * compare(a, b) || a.order - b.order;
    });
  }

  // --- drawing -------------------------------------------------------------------------------
  function card(r) {
    var node = el('article', { 'class': 'card', 'data-input': r.file });
    if (r.panel) {
      var link = el('a', { 'class': 'thumb', href: r.panel, target: '_blank', rel: 'noopener' });
      link.appendChild(el('img', { loading: 'lazy', src: r.panel, alt: 'panel of ' + r.file }));
      node.appendChild(link);
    } else {
      node.appendChild(el('div', { 'class': 'thumb none' }, 'no panel'));
    }
    node.appendChild(el('div', { 'class': 'file', title: r.file }, r.file));
    var list = el('ol', { 'class': 'preds' });
    r.preds.slice(0, 3).forEach(function (pair) {
      var item = el('li', { 'data-class': classes[pair[0]] });
      item.appendChild(el('span', { 'class': 'cls' }, classes[pair[0]]));
      var track = el('span', { 'class': 'track' });
      track.appendChild(el('span', { 'class': 'bar', style: 'width:' + (100 * pair[1]).toFixed(1) + '%' }));
      item.appendChild(track);
      item.appendChild(el('span', { 'class': 'prob' }, fmt(pair[1])));
      list.appendChild(item);
    });
    node.appendChild(list);
    if (r.rating !== null) node.appendChild(el('div', { 'class': 'rating' }, 'rating ' + r.rating.toFixed(1) + '/10'));
    if (r.evals.length) {
      // [method, layer, class, deletion AUC, insertion AUC, average drop %] per evaluated map.
      var evals = el('table', { 'class': 'evals' });
      var head = el('tr');
      ['map', 'deletion', 'insertion', 'drop %'].forEach(function (t) { head.appendChild(el('th', {}, t)); });
      evals.appendChild(head);
      r.evals.forEach(function (v) {
        var row = el('tr', { 'data-method': v[0], 'data-layer': v[1] });
        row.appendChild(el('td', { title: v[2] }, v[0] + ' ' + v[1]));
        row.appendChild(el('td', { 'class': 'auc-deletion' }, v[3].toFixed(4)));
        row.appendChild(el('td', { 'class': 'auc-insertion' }, v[4].toFixed(4)));
        row.appendChild(el('td', {}, v[5].toFixed(1)));
        evals.appendChild(row);
      });
      node.appendChild(evals);
    }
    return node;
  }

  function pager(target, view, page, pages) {
    target.textContent = '';
    if (pages <= 1) return;
    function link(label, to) {
      var v = Object.assign({}, view, { page: String(to) });
      var a = el('a', { href: '#' + writeHash(v) }, label);
      if (to < 1 || to > pages || to === page) a.className = 'off';
      return a;
    }
    target.appendChild(link('\u00ab first', 1));
    target.appendChild(link('\u2039 previous', page - 1));
    target.appendChild(el('span', { 'class': 'page' }, 'page ' + page + ' of ' + pages));
    target.appendChild(link('next \u203a', page + 1));
    target.appendChild(link('last \u00bb', pages));
  }

  function render() {
    var started = performance.now();
    var view = readHash();
    syncControls(view);
    var picked = matching(view);
    var per = data.perPage > 0 ? data.perPage : 100;
    var pages = Math.max(1, Math.ceil(picked.length / per));
    var page = Math.min(Math.max(1, Math.floor(number(view.page, 1))), pages);
    var shown = picked.slice((page - 1) * per, page * per);
    var cards = document.getElementById('cards');
    var fragment = document.createDocumentFragment();
    shown.forEach(function (r) { fragment.appendChild(card(r)); });
    cards.textContent = '';
    cards.appendChild(fragment);
    cards.setAttribute('data-matched', String(picked.length));
    var status = document.getElementById('status');
    status.setAttribute('data-matched', String(picked.length));
    status.textContent = picked.length === 0 ? 'No result matches this view.' :
        'Showing ' + ((page - 1) * per + 1) + '\u2013' + ((page - 1) * per + shown.length) + ' of ' +
        picked.length + (picked.length === results.length ? '' : ' matching') + ' (' + results.length +
        ' results).';
    pager(document.getElementById('pager-top'), view, page, pages);
    pager(document.getElementById('pager-bottom'), view, page, pages);
    // How long the view took (filter, sort, one page of cards), for the tests' record.
    cards.setAttribute('data-render-ms', (performance.now() - started).toFixed(1));
  }

  // --- the controls mirror the hash ----------------------------------------------------------
  var controls = { 'class': 'f-class', of: 'f-of', min: 'f-min', max: 'f-max', sort: 'f-sort',
                   order: 'f-order', q: 'f-q' };
  function fillSelects() {
    classes.forEach(function (c) {
      document.getElementById('f-class').appendChild(el('option', { value: c }, c));
      document.getElementById('f-of').appendChild(el('option', { value: c }, c));
      document.getElementById('f-sort').appendChild(el('option', { value: c }, 'probability of ' + c));
    });
    if (hasRating) {
      document.getElementById('f-of').appendChild(el('option', { value: 'rating' }, 'the rating'));
      document.getElementById('f-sort').appendChild(el('option', { value: 'rating' }, 'rating'));
    }
  }
  function syncControls(view) {
    Object.keys(controls).forEach(function (k) {
      var node = document.getElementById(controls[k]);
      if (document.activeElement !== node) node.value = view[k] || '';
    });
  }
  function wireControls() {
    Object.keys(controls).forEach(function (k) {
      var node = document.getElementById(controls[k]);
      node.addEventListener(node.tagName === 'SELECT' ? 'change' : 'input', function () {
        var view = readHash();
        view[k] = node.value;
        delete view.page;  // a new view starts on its first page
        go(view);
      });
    });
    document.getElementById('f-reset').addEventListener('click', function () { go({}); });
    window.addEventListener('hashchange', render);
  }

  // --- summary: counts per predicted class, histograms as inline SVG -------------------------
  function histogram(title, values, lo, hi, onPick) {
    var bins = 10, counts = new Array(bins).fill(0);
    values.forEach(function (v) {
      counts[Math.min(bins - 1, Math.max(0, Math.floor((v - lo) / (hi - lo) * bins)))] += 1;
    });
    var most = Math.max.apply(null, counts.concat([1]));
    var w = 220, h = 90, bw = w / bins;
    var figure = el('figure', { 'class': 'histogram', 'data-name': title });
    figure.appendChild(el('figcaption', {}, title));
    var svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('width', String(w));
    svg.setAttribute('height', String(h + 14));
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + (h + 14));
    counts.forEach(function (n, i) {
      var from = lo + (hi - lo) * i / bins, to = lo + (hi - lo) * (i + 1) / bins;
      var barHeight = n === 0 ? 0 : Math.max(1, h * n / most);
      var rect = document.createElementNS(SVG, 'rect');
      rect.setAttribute('class', 'bin');
      rect.setAttribute('x', String(i * bw + 1));
      rect.setAttribute('y', String(h - barHeight));
      rect.setAttribute('width', String(bw - 2));
      rect.setAttribute('height', String(barHeight));
      rect.setAttribute('data-count', String(n));
      var tip = document.createElementNS(SVG, 'title');
      tip.textContent = n + ' in ' + from.toFixed(2) + '\u2013' + to.toFixed(2);
      rect.appendChild(tip);
      rect.addEventListener('click', function () { onPick(from, to); });
      svg.appendChild(rect);
    });
    [[0, lo], [w, hi]].forEach(function (tick, i) {
      var text = document.createElementNS(SVG, 'text');
      text.setAttribute('x', String(tick[0]));
      text.setAttribute('y', String(h + 12));
      text.setAttribute('text-anchor', i === 0 ? 'start' : 'end');
      text.textContent = String(tick[1]);
      svg.appendChild(text);
    });
    figure.appendChild(svg);
    return figure;
  }
  function summary() {
    var counts = classes.map(function () { return 0; });
    results.forEach(function (r) { if (r.top >= 0) counts[r.top] += 1; });
    var table = el('table', { 'class': 'counts' });
    var head = el('tr');
    ['predicted class', 'inputs', 'share'].forEach(function (t) { head.appendChild(el('th', {}, t)); });
    table.appendChild(head);
    classes.forEach(function (c, i) {
      var row = el('tr', { 'data-class': c });
      var name = el('td');
      name.appendChild(el('a', { href: '#' + writeHash({ 'class': c }) }, c));
      row.appendChild(name);
      row.appendChild(el('td', { 'class': 'count' }, String(counts[i])));
      row.appendChild(el('td', { 'class': 'share' },
                         results.length ? (100 * counts[i] / results.length).toFixed(1) + '%' : '-'));
      table.appendChild(row);
    });
    var failedRow = el('tr', { 'data-class': '(failed)' });
    failedRow.appendChild(el('td', {}, 'failed'));
    failedRow.appendChild(el('td', { 'class': 'count' }, String(data.errors.length)));
    failedRow.appendChild(el('td', { 'class': 'share' }, ''));
    table.appendChild(failedRow);
    document.getElementById('summary-counts').appendChild(table);

    var box = document.getElementById('histograms');
    classes.forEach(function (c, i) {
      box.appendChild(histogram('probability of ' + c, results.map(function (r) { return r.probs[i]; }),
                                0, 1, function (from, to) {
        go({ of: c, min: from.toFixed(2), max: to.toFixed(2), sort: c });
      }));
    });
    if (hasRating) {
      var rated = results.filter(function (r) { return r.rating !== null; });
      box.appendChild(histogram('rating', rated.map(function (r) { return r.rating; }), 0, 10,
                                function (from, to) {
        go({ of: 'rating', min: from.toFixed(1), max: to.toFixed(1), sort: 'rating' });
      }));
    }
  }

  // --- evaluation: the method x layer table and the mean curves as inline SVG ---------------
  var PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2',
                 '#7f7f7f', '#bcbd22', '#17becf'];
  function svgNode(tag, attributes, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attributes).forEach(function (k) { node.setAttribute(k, String(attributes[k])); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function curvePlot(title, key, curves) {
    var w = 360, h = 220, left = 34, top = 8, pw = w - left - 10, ph = h - top - 34;
    var figure = el('figure', { 'class': 'curves', 'data-name': key });
    figure.appendChild(el('figcaption', {}, title));
    var svg = svgNode('svg', { width: w, height: h, viewBox: '0 0 ' + w + ' ' + h });
    function px(x) { return left + pw * x; }
    function py(y) { return top + ph * (1 - Math.min(1, Math.max(0, y))); }
    for (var t = 0; t <= 5; ++t) {
      var v = t / 5;
      svg.appendChild(svgNode('line', { 'class': 'grid', x1: px(v), x2: px(v), y1: top, y2: top + ph }));
      svg.appendChild(svgNode('line', { 'class': 'grid', x1: left, x2: left + pw, y1: py(v), y2: py(v) }));
      svg.appendChild(svgNode('text', { x: px(v), y: top + ph + 12, 'text-anchor': 'middle' }, v.toFixed(1)));
      svg.appendChild(svgNode('text', { x: left - 4, y: py(v) + 3, 'text-anchor': 'end' }, v.toFixed(1)));
    }
    svg.appendChild(svgNode('line', { 'class': 'axis', x1: left, x2: left, y1: top, y2: top + ph }));
    svg.appendChild(svgNode('line', { 'class': 'axis', x1: left, x2: left + pw, y1: top + ph, y2: top + ph }));
    svg.appendChild(svgNode('text', { x: left + pw / 2, y: h - 6, 'text-anchor': 'middle' },
                            'fraction of pixels changed; y: class probability'));
    curves.forEach(function (c, n) {
      var points = c.x.map(function (x, i) { return px(x).toFixed(1) + ',' + py(c[key][i]).toFixed(1); });
      var line = svgNode('polyline', { points: points.join(' '), stroke: PALETTE[n % PALETTE.length],
                                       'data-method': c.m, 'data-layer': c.l });
      line.appendChild(svgNode('title', {}, c.m + ' ' + c.l));
      svg.appendChild(line);
    });
    figure.appendChild(svg);
    var legend = el('ul', { 'class': 'legend' });
    curves.forEach(function (c, n) {
      var item = el('li');
      item.appendChild(el('span', { style: 'color:' + PALETTE[n % PALETTE.length] }, '\u25a0 '));
      item.appendChild(document.createTextNode(c.m + ' ' + c.l));
      legend.appendChild(item);
    });
    figure.appendChild(legend);
    return figure;
  }
  function evaluation() {
    var e = data.evaluation || { rows: [], curves: [] };
    if (!e.rows.length) return;
    document.getElementById('evaluation').hidden = false;
    var table = el('table', { 'class': 'counts evaluation' });
    var head = el('tr');
    ['method', 'layer', 'n', 'deletion (lower)', 'insertion (higher)', 'avg drop %', 'increase %']
      .forEach(function (t) { head.appendChild(el('th', {}, t)); });
    table.appendChild(head);
    e.rows.forEach(function (r) {
      var row = el('tr', { 'data-method': r.m, 'data-layer': r.l });
      row.appendChild(el('td', {}, r.m));
      row.appendChild(el('td', {}, r.l));
      [String(r.n), r.d.toFixed(4), r.i.toFixed(4), r.a.toFixed(1), r.c.toFixed(1)].forEach(function (t) {
        row.appendChild(el('td', { 'class': 'num' }, t));
      });
      table.appendChild(row);
    });
    document.getElementById('evaluation-table').appendChild(table);
    if (e.curves.length) {
      var box = document.getElementById('evaluation-curves');
      box.appendChild(curvePlot('mean deletion curves (lower is better)', 'd', e.curves));
      box.appendChild(curvePlot('mean insertion curves (higher is better)', 'i', e.curves));
    }
  }

  function failures() {
    var list = document.getElementById('errors');
    list.setAttribute('data-count', String(data.errors.length));
    if (data.errors.length === 0) list.appendChild(el('li', { 'class': 'none' }, 'none'));
    data.errors.forEach(function (e) {
      var item = el('li', { 'class': 'error', 'data-input': e.f });
      item.appendChild(el('code', {}, e.f));
      item.appendChild(document.createTextNode(': ' + e.e));
      list.appendChild(item);
    });
  }

  function overview() {
    var text = results.length + ' results, ' + data.errors.length + ' failed';
    if (data.superseded) text += '; ' + data.superseded + ' older lines of re-run inputs replaced';
    if (data.badLines) text += '; ' + data.badLines + ' malformed lines skipped';
    document.getElementById('overview').textContent = text + '.';
  }

  fillSelects();
  wireControls();
  overview();
  summary();
  evaluation();
  failures();
  render();
})();

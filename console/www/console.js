// zcqrs console: the pages, in plain JavaScript with no library. Everything
// comes from the console's JSON API (/api/...), which asks the nodes over
// ZeroMQ. Text from the cluster (stream names, event data) only ever goes
// into the page as text nodes, never as HTML.
"use strict";

const page = document.getElementById("page");
let timer = null;       // the current page's refresh timer
let cluster = null;     // the last /api/cluster answer

// --- Helpers ------------------------------------------------------------------

// An element with attributes (class, href, ...; "text" sets its text) and
// children (elements or strings).
function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
        if (value === undefined || value === null || value === false) continue;
        if (key === "text") node.textContent = value;
        else if (key === "class") node.className = value;
        else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
        else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
        if (child !== null && child !== undefined) {
            node.append(child instanceof Node ? child : String(child));
        }
    }
    return node;
}

function svg(tag, attrs, ...children) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [key, value] of Object.entries(attrs || {})) {
        if (key === "text") node.textContent = value;
        else node.setAttribute(key, value);
    }
    children.forEach((child) => node.append(child));
    return node;
}

// GET (or POST with a body) a JSON answer of the console; throws an Error
// that says what went wrong.
async function api(path, body) {
    const options = body === undefined ? {} : {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify(body),
    };
    const response = await fetch(path, options);
    let answer;
    try {
        answer = await response.json();
    } catch (error) {
        throw new Error(`${path}: HTTP ${response.status}, not JSON`);
    }
    if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
    return answer;
}

// A value as formatted JSON, keys and values coloured by kind.
function jsonView(value) {
    const pre = el("pre", {class: "json"});
    const put = (text, kind) => pre.append(kind ? el("span", {class: kind, text}) : text);
    const walk = (item, indent) => {
        const inner = indent + "  ";
        if (Array.isArray(item)) {
            if (!item.length) return put("[]");
            put("[\n");
            item.forEach((entry, index) => {
                put(inner);
                walk(entry, inner);
                put(index + 1 < item.length ? ",\n" : "\n");
            });
            put(indent + "]");
        } else if (item && typeof item === "object") {
            const keys = Object.keys(item);
            if (!keys.length) return put("{}");
            put("{\n");
            keys.forEach((key, index) => {
                put(inner);
                put(JSON.stringify(key), "k");
                put(": ");
                walk(item[key], inner);
                put(index + 1 < keys.length ? ",\n" : "\n");
            });
            put(indent + "}");
        } else if (typeof item === "string") {
            put(JSON.stringify(item), "s");
        } else if (typeof item === "number") {
            put(String(item), "n");
        } else {
            put(String(item), "b");
        }
    };
    walk(value, "");
    return pre;
}

// A status word as a coloured badge.
function badge(status) {
    const good = ["ok", "accepted", "up", "live", "reachable"];
    const warn = ["rejected", "conflict", "stale", "busy", "repairing", "unknown"];
    const kind = good.includes(status) ? "good" : warn.includes(status) ? "warn" : "bad";
    return el("span", {class: `badge ${kind}`, text: status});
}

// Microseconds since the epoch as local time with milliseconds.
function when(us) {
    if (!us) return "";
    const date = new Date(us / 1000);
    const pad = (n, w = 2) => String(n).padStart(w, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
        `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.` +
        pad(date.getMilliseconds(), 3);
}

function duration(ms) {
    if (ms === null || ms === undefined) return "";
    const s = Math.floor(ms / 1000);
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
    return `${Math.floor(s / 3600)} h ${Math.floor(s / 60) % 60} min`;
}

function readJson(text, what) {
    try {
        return text.trim() ? JSON.parse(text) : {};
    } catch (error) {
        throw new Error(`${what} is not JSON: ${error.message}`);
    }
}

function showError(where, error) {
    where.replaceChildren(el("p", {class: "error", text: error.message}));
}

// --- Charts -------------------------------------------------------------------

// A round top for a y axis.
function niceMax(value) {
    if (!(value > 0)) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) {
        if (value <= step * power) return step * power;
    }
    return 10 * power;
}

function tick(value) {
    if (value >= 1000) return `${+(value / 1000).toFixed(1)}k`;
    return String(+value.toPrecision(3));
}

// A line chart of series [{name, values}] against times (ms since the
// epoch), over the last `span` ms; with log, on a logarithmic scale (for
// latencies, where one slow moment would flatten the rest). The svg's
// data-points says how many points it drew.
function chart(id, title, unit, times, series, span, log) {
    const W = 420, H = 220, L = 44, R = 10, T = 44, B = 22;
    const end = times.length ? times[times.length - 1] : Date.now();
    const start = end - span;
    const all = series.flatMap((s) => s.values.filter((v) => v !== null && (!log || v > 0)));
    let top = niceMax(Math.max(0, ...all)), bottom = 0, ticks = [0, top / 2, top];
    if (log) {
        top = Math.pow(10, Math.ceil(Math.log10(Math.max(1, ...all))));
        bottom = Math.pow(10, Math.floor(Math.log10(Math.min(top / 10, ...all))));
        ticks = [];
        for (let value = bottom; value <= top * 1.001; value *= 10) ticks.push(value);
    }
    const scale = (v) => log ? (Math.log10(v) - Math.log10(bottom)) /
        (Math.log10(top) - Math.log10(bottom)) : v / top;
    const x = (t) => L + (W - L - R) * (t - start) / span;
    const y = (v) => T + (H - T - B) * (1 - scale(v));
    const root = svg("svg", {class: "chart", id, viewBox: `0 0 ${W} ${H}`, role: "img"});
    root.append(svg("text", {class: "title", x: L, y: 14,
                             text: `${title} (${unit}${log ? ", log scale" : ""})`}));
    ticks.forEach((value, index) => {
        root.append(svg("line", {class: index ? "grid" : "axis", x1: L, x2: W - R,
                                 y1: y(value), y2: y(value)}));
        root.append(svg("text", {x: L - 6, y: y(value) + 4, "text-anchor": "end",
                                 text: tick(value)}));
    });
    const minutes = Math.round(span / 60000);
    root.append(svg("text", {x: L, y: H - 6, text: `-${minutes} min`}));
    root.append(svg("text", {x: W - R, y: H - 6, "text-anchor": "end", text: "now"}));
    let points = 0;
    let legend = L;
    series.forEach((s, index) => {
        const cls = `s${index % 6}`;
        root.append(svg("rect", {class: cls, x: legend, y: 22, width: 10, height: 10}));
        root.append(svg("text", {x: legend + 14, y: 31, text: s.name}));
        legend += 30 + 6.6 * s.name.length;
        // A line per run of known values: a gap in the data is a gap
        let run = [];
        const flush = () => {
            if (run.length > 1) {
                root.append(svg("polyline", {class: cls, points: run.join(" ")}));
                points += run.length;
            } else if (run.length === 1) {
                const [px, py] = run[0].split(",");
                root.append(svg("circle", {class: cls, cx: px, cy: py, r: 2}));
                points += 1;
            }
            run = [];
        };
        s.values.forEach((value, i) => {
            if (value === null || (log && value <= 0) || times[i] < start) return flush();
            run.push(`${x(times[i]).toFixed(1)},${y(value).toFixed(1)}`);
        });
        flush();
    });
    if (!points) {
        root.append(svg("text", {x: W / 2, y: H / 2, "text-anchor": "middle",
                                 text: "no samples yet"}));
    }
    root.dataset.points = points;
    return el("figure", {}, root);
}

// --- Cluster ------------------------------------------------------------------

function nodeRow(node) {
    const write = node.role === "write";
    const down = node.state !== "up";
    // A node that does not answer keeps its last position; what it said
    // of its own state then is history, not shown as if it were now
    const status = down ? {head: (node.status || {}).head, applied: (node.status || {}).applied,
                           metrics: (node.status || {}).metrics} : node.status || {};
    const position = write ? status.head : status.applied;
    let lag = "";
    if (!write && node.lag !== null) {
        lag = node.lag_estimated ? `${node.lag} (estimated: no answer)` : String(node.lag);
    }
    const state = el("td", {}, badge(node.state));
    if (node.state === "down") {
        const seen = node.seen_ms === null ? "never answered" :
            `last answer ${duration(node.seen_ms)} ago`;
        state.append(el("div", {class: "small", text: `${node.reason}; ${seen}`}));
    }
    const metrics = status.metrics ?
        el("a", {href: status.metrics, text: "metrics"}) : el("span", {class: "small", text: "off"});
    return el("tr", {class: node.state === "down" ? "down" : "", "data-node": node.name},
        el("td", {class: "name", text: node.name}),
        el("td", {text: node.role}),
        state,
        el("td", {class: "num", text: position === undefined ? "" : position}),
        el("td", {class: "num lag", text: lag}),
        el("td", {class: "num", text: write ? status.accepted ?? "" : ""}),
        el("td", {class: "num", text: write ? "" : status.rate ?? ""}),
        el("td", {}, write ? (status.durability || "") :
            status.state ? [badge(status.state), " ", badge(status.write_node)] : ""),
        el("td", {class: "num", text: status.uptime_ms === undefined ? "" :
            duration(status.uptime_ms)}),
        el("td", {class: "mono name", text: node.endpoint}),
        el("td", {}, metrics));
}

async function showCluster() {
    const [now, history] = await Promise.all([api("/api/cluster"), api("/api/history")]);
    cluster = now;
    const table = el("table", {id: "nodes"},
        el("tr", {}, ["Node", "Role", "State", "Head / applied", "Lag", "Accepted",
                      "Events/s", "Durability / feed", "Uptime", "Endpoint", "Metrics"]
            .map((name, i) => el("th", {class: [3, 4, 5, 6, 8].includes(i) ? "num" : "",
                                        text: name}))),
        now.nodes.map(nodeRow));
    const span = Math.max(60000, Math.min(history.t.length * history.refresh_ms, 600000));
    const charts = el("div", {class: "charts"},
        chart("throughput", "Throughput", "per second", history.t, [
            {name: "commands", values: history.commands},
            ...history.names.map((name, i) => ({name: `${name} events`,
                                                values: history.applied[i]})),
        ], span),
        chart("latency", "Latency", "ms", history.t, [
            {name: "ack p50", values: history.ack_p50},
            {name: "ack p99", values: history.ack_p99},
            {name: "query p50", values: history.query_p50},
            {name: "query p99", values: history.query_p99},
        ], span, true),
        chart("lag", "Lag", "events", history.t,
              history.names.map((name, i) => ({name, values: history.lag[i]})), span));
    page.replaceChildren(el("h2", {text: "Cluster"}), table, charts);
}

// --- Log ----------------------------------------------------------------------

function eventRow(event, withStream) {
    const meta = event.meta || {};
    const command = meta.command ? String(meta.command) : "";
    return el("tr", {"data-position": event.position},
        el("td", {class: "num", text: event.position}),
        el("td", {class: "mono", text: when(meta.time)}),
        withStream ? el("td", {}, el("a", {
            href: `#/stream?name=${encodeURIComponent(event.stream)}`, text: event.stream})) : null,
        el("td", {class: "num", text: event.version}),
        el("td", {text: event.type}),
        el("td", {}, jsonView(event.data)),
        el("td", {class: "mono small"},
            el("span", {title: command, text: command.slice(0, 8)}),
            meta.correlation ? el("div", {text: `correlation ${meta.correlation}`}) : null,
            meta.user ? el("div", {text: `user ${meta.user}`}) : null));
}

function eventTable(events, withStream) {
    const heads = ["Position", "Time", withStream ? "Stream" : null, "Version", "Type", "Data",
                   "Command"].filter((h) => h);
    return el("table", {class: "events"},
        el("tr", {}, heads.map((h) => el("th", {text: h}))),
        events.map((event) => eventRow(event, withStream)));
}

async function showLog(params) {
    const count = Number(params.get("count") || 20);
    const from = params.get("from");
    const answer = await api(`/api/log?count=${count}` + (from ? `&from=${from}` : ""));
    const go = (first) => {
        location.hash = `#/log?from=${Math.max(1, first)}&count=${count}`;
    };
    const last = answer.events.length ? answer.events[answer.events.length - 1].position : 0;
    const input = el("input", {type: "number", min: 1, value: answer.from, id: "log-from"});
    const bar = el("form", {class: "bar", onsubmit: (e) => {
        e.preventDefault();
        go(Number(input.value));
    }},
        el("label", {}, "From position", input),
        el("button", {type: "submit", text: "Show"}),
        el("button", {type: "button", class: "plain", text: "Older",
                      disabled: answer.from <= 1, onclick: () => go(answer.from - count)}),
        el("button", {type: "button", class: "plain", text: "Newer",
                      disabled: last >= answer.head, onclick: () => go(answer.from + count)}),
        el("button", {type: "button", class: "plain", text: "Latest",
                      onclick: () => { location.hash = `#/log?count=${count}`; }}));
    const range = answer.events.length ?
        `positions ${answer.from} to ${last} of ${answer.head}` +
        (from ? "" : " (latest, refreshed every 2 s)") :
        `no events from position ${answer.from} (head ${answer.head})`;
    page.replaceChildren(el("h2", {text: "Log"}), bar,
                         el("p", {class: "note", id: "log-range", text: range}),
                         eventTable(answer.events, true));
    if (!from) timer = setTimeout(render, 2000);
}

// --- Streams ------------------------------------------------------------------

async function showStream(params) {
    const name = params.get("name") || "";
    const input = el("input", {id: "stream-name", value: name, placeholder: "acc-1", size: 30});
    const bar = el("form", {class: "bar", onsubmit: (e) => {
        e.preventDefault();
        location.hash = `#/stream?name=${encodeURIComponent(input.value.trim())}`;
    }}, el("label", {}, "Stream", input), el("button", {type: "submit", text: "Find"}));
    page.replaceChildren(el("h2", {text: "Streams"}), bar);
    if (!name) {
        page.append(el("p", {class: "note",
            text: "A stream's events, read from the log (the console scans it from position 1)."}));
        return;
    }
    const result = el("div", {id: "stream-result"}, el("p", {class: "note", text: "Scanning…"}));
    page.append(result);
    const events = [];
    let from = Number(params.get("from") || 1);
    const scan = async () => {
        const answer = await api(`/api/stream?name=${encodeURIComponent(name)}&from=${from}`);
        events.push(...answer.events);
        from = answer.next;
        const done = answer.next > answer.head;
        const note = `${events.length} events of '${name}' in positions ` +
            `${params.get("from") || 1} to ${answer.next - 1} of ${answer.head}` +
            (done ? "" : " (more of the log to scan)");
        result.replaceChildren(el("p", {class: "note", id: "stream-note", text: note}),
            done ? "" : el("button", {class: "plain", text: "Scan further", onclick: () =>
                scan().catch((error) => showError(result, error))}),
            eventTable(events, false));
    };
    await scan();
}

// --- Query --------------------------------------------------------------------

async function showQuery(params) {
    cluster = cluster || await api("/api/cluster");
    const nodes = cluster.nodes.filter((node) => node.role === "query");
    const select = el("select", {id: "query-node"},
        nodes.map((node, i) => el("option", {value: i, text: `${node.name} (${node.endpoint})`})));
    const name = el("input", {id: "query-name", list: "query-names", value: params.get("name") ||
                              "", placeholder: "account", size: 24});
    const names = el("datalist", {id: "query-names"},
        ["status", "checksum", "account", "accounts-by-owner", "totals", "stream", "all"]
            .map((value) => el("option", {value})));
    const args = el("textarea", {id: "query-params", placeholder: '{"id": "acc-1"}'});
    args.value = params.get("params") || "";
    const min = el("input", {id: "query-min", type: "number", min: 0, value: 0, size: 8});
    const out = el("div", {id: "query-result"});
    const run = async (e) => {
        e.preventDefault();
        try {
            const body = readJson(args.value, "params");
            const answer = await api(`/api/query?node=${select.value}` +
                `&name=${encodeURIComponent(name.value.trim())}` +
                `&params=${encodeURIComponent(JSON.stringify(body))}&min_position=${min.value || 0}`);
            const result = answer.answer;
            out.replaceChildren(el("div", {class: "panel"},
                el("div", {class: "facts"}, badge(result.status),
                   el("span", {text: `position ${result.position}`}),
                   el("span", {text: `node ${answer.node}`}),
                   result.reason ? el("span", {class: "small", text: result.reason}) : null),
                jsonView(result.result)));
        } catch (error) {
            showError(out, error);
        }
    };
    page.replaceChildren(el("h2", {text: "Query"}),
        el("form", {class: "bar", onsubmit: run},
            el("label", {}, "Query node", select), el("label", {}, "Name", name, names),
            el("label", {}, "Params (JSON object)", args),
            el("label", {}, "Min position", min), el("button", {type: "submit", text: "Run"})),
        out);
}

// --- Send ---------------------------------------------------------------------

async function showSend() {
    cluster = cluster || await api("/api/cluster");
    page.replaceChildren(el("h2", {text: "Send a command"}));
    if (!cluster.send) {
        page.append(el("p", {class: "note", id: "send-off", text:
            "Sending commands is off. Start zcqrs-console with --send 1 (make run " +
            "CONSOLE_SEND=1) to send them from here."}));
        return;
    }
    const type = el("input", {id: "send-type", placeholder: "Deposit", size: 20});
    const stream = el("input", {id: "send-stream", placeholder: "acc-1", size: 24});
    const expect = el("input", {id: "send-expect", placeholder: "any", size: 6});
    const data = el("textarea", {id: "send-data", placeholder: '{"amount": 100}'});
    const out = el("div", {id: "send-result"});
    const send = async (e) => {
        e.preventDefault();
        try {
            const body = {type: type.value.trim(), stream: stream.value.trim(),
                          data: readJson(data.value, "data")};
            if (expect.value.trim() !== "" && expect.value.trim() !== "any") {
                body.expect = Number(expect.value);
            }
            const reply = await api("/api/command", body);
            out.replaceChildren(el("div", {class: "panel"},
                el("div", {class: "facts"}, badge(reply.status),
                   el("span", {text: `version ${reply.version}`}),
                   el("span", {text: `position ${reply.position}`}),
                   el("span", {text: `${reply.count} event${reply.count === 1 ? "" : "s"}`}),
                   reply.reason ? el("span", {class: "small", text: reply.reason}) : null),
                jsonView(reply)));
        } catch (error) {
            showError(out, error);
        }
    };
    page.append(el("form", {class: "bar", onsubmit: send},
        el("label", {}, "Type", type), el("label", {}, "Stream", stream),
        el("label", {}, "Expected version", expect), el("label", {}, "Data (JSON object)", data),
        el("button", {type: "submit", text: "Send"})), out);
}

// --- Routing ------------------------------------------------------------------

const pages = {cluster: showCluster, log: showLog, stream: showStream, query: showQuery,
               send: showSend};

async function render() {
    clearTimeout(timer);
    timer = null;
    const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
    const name = pages[path] ? path : "cluster";
    for (const link of document.querySelectorAll("nav a")) {
        link.classList.toggle("active", link.id === `nav-${name}`);
    }
    document.body.dataset.page = name;
    try {
        await pages[name](new URLSearchParams(query || ""));
        if (name === "cluster") timer = setTimeout(render, cluster.refresh_ms);
    } catch (error) {
        showError(page, error);
        timer = setTimeout(render, 3000);
    }
    if (name !== "cluster") {
        cluster = await api("/api/cluster").catch(() => cluster);
    }
    if (cluster) {
        document.getElementById("version").textContent = cluster.version;
        const up = cluster.nodes.filter((node) => node.state === "up").length;
        document.getElementById("summary").textContent =
            `${up} of ${cluster.nodes.length} nodes up, head ${cluster.head ?? "?"}` +
            (cluster.secure ? ", CURVE" : "");
    }
    document.body.dataset.rendered = Number(document.body.dataset.rendered || 0) + 1;
}

window.addEventListener("hashchange", render);
render();

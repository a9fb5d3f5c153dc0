/* The one-map page (一张图): log in, fetch GET /v1/map/communities, draw it with Leaflet, colour each
   community by its worst KPI status, filter, and show one community's details in the side panel.
   State the browser test reads: #map[data-communities] (features drawn), path[data-community] (one per
   outline), #panel[data-community] (the open panel). */
(function () {
  "use strict";
  var zh = (document.documentElement.lang || "zh-CN") !== "en";
  var T = zh ? {
    title: "小区一张图", phone: "手机号", password: "密码", login: "登录", logout: "退出",
    loginTitle: "登录（与 App 同一账号）", loginFailed: "登录失败：", loadFailed: "加载失败：",
    renovated: "改造年份", status: "指标状态", alarms: "仅看有告警", all: "全部", shown: "显示",
    of: "/", green: "全部达标", amber: "部分无数据", red: "有未达标", grey: "无数据",
    address: "地址", district: "区县", built: "建成年份", renovation: "改造", classes: "改造类别",
    projects: "改造项目数", people: "责任人", property_manager: "物业经理", party_secretary: "党支部书记",
    committee_chair: "业委会主任", grid_worker: "网格员", tickets: "工单", open: "未办结",
    overdue: "超时", active: "未处理告警", cameras: "摄像头在线/总数", kpi: "上月指标", period: "统计月",
    met: "达标", missed: "未达标", no_data: "无数据", none: "—", close: "关闭"
  } : {
    title: "One map", phone: "Phone", password: "Password", login: "Log in", logout: "Log out",
    loginTitle: "Log in (the app's account)", loginFailed: "Login failed: ", loadFailed: "Loading failed: ",
    renovated: "Renovated", status: "KPI status", alarms: "Active alarms only", all: "All", shown: "Shown",
    of: "/", green: "All met", amber: "Some without data", red: "A KPI missed", grey: "No data",
    address: "Address", district: "District", built: "Built", renovation: "Renovation", classes: "Classes of works",
    projects: "Projects", people: "Responsible people", property_manager: "Property manager",
    party_secretary: "Party secretary", committee_chair: "Committee chair", grid_worker: "Grid worker",
    tickets: "Tickets", open: "Open", overdue: "Overdue", active: "Active alarms", cameras: "Cameras online/total",
    kpi: "Last month's KPIs", period: "Month", met: "Met", missed: "Missed", no_data: "No data", none: "—",
    close: "Close"
  };
  var COLOURS = { green: "#43a047", amber: "#ffb300", red: "#e53935", grey: "#9e9e9e" };
  var TOKEN = "linli.map.token";
  var body = document.body;
  var crs = body.getAttribute("data-tile-crs") || "wgs84";
  var app = document.getElementById("app");
  var state = { features: [], map: null, group: null };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  function api(path, options) {
    options = options || {};
    options.headers = options.headers || {};
    options.headers["Accept-Language"] = zh ? "zh-CN" : "en";
    var token = sessionStorage.getItem(TOKEN);
    if (token) { options.headers.Authorization = "Bearer " + token; }
    return fetch(path, options).then(function (r) {
      return r.json().then(function (b) { return { status: r.status, body: b }; });
    });
  }

  function showLogin(message) {
    app.innerHTML = "";
    var phone = el("input", { id: "phone", name: "phone", autocomplete: "username", placeholder: "+86…" });
    var password = el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password" });
    var error = el("p", { "class": "error", id: "login-error", text: message || "" });
    var form = el("form", { id: "login" }, [
      el("h1", { text: T.loginTitle }),
      el("label", { "for": "phone", text: T.phone }), phone,
      el("label", { "for": "password", text: T.password }), password,
      el("button", { type: "submit", text: T.login }), error
    ]);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      api("/v1/auth/login", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ phone: phone.value.trim(), password: password.value })
      }).then(function (r) {
        if (r.status !== 200) { error.textContent = T.loginFailed + ((r.body.error || {}).message || r.status); return; }
        sessionStorage.setItem(TOKEN, r.body.access_token);
        showMap();
      });
    });
    app.appendChild(form);
  }

  function option(value, label) { return el("option", { value: value, text: label }); }

  function showMap() {
    app.innerHTML = "";
    var year = el("select", { id: "filter-year" }, [option("", T.all)]);
    var status = el("select", { id: "filter-status" }, [option("", T.all)].concat(
      ["red", "amber", "green", "grey"].map(function (k) { return option(k, T[k]); })));
    var alarms = el("input", { id: "filter-alarms", type: "checkbox" });
    var count = el("span", { "class": "count", id: "count" });
    var logout = el("button", { id: "logout", type: "button", text: T.logout });
    logout.addEventListener("click", function () { sessionStorage.removeItem(TOKEN); showLogin(); });
    app.appendChild(el("header", {}, [
      el("h1", { text: T.title }),
      el("label", {}, [T.renovated + " ", year]),
      el("label", {}, [T.status + " ", status]),
      el("label", {}, [alarms, " " + T.alarms]),
      count, logout
    ]));
    var panel = el("aside", { id: "panel", hidden: "" });
    var mapNode = el("div", { id: "map" });
    app.appendChild(el("main", {}, [mapNode, panel]));
    var map = L.map(mapNode, { preferCanvas: false }).setView([30.63, 119.68], 13);
    state.map = map;
    var tiles = body.getAttribute("data-tile-url");
    if (tiles) {
      var sub = body.getAttribute("data-tile-subdomains");
      var opts = { attribution: body.getAttribute("data-tile-attribution") || "", maxZoom: 19 };
      if (sub) { opts.subdomains = sub; }
      L.tileLayer(tiles, opts).addTo(map);
    }
    var legend = L.control({ position: "bottomleft" });
    legend.onAdd = function () {
      var div = el("div", { "class": "legend" });
      ["green", "amber", "red", "grey"].forEach(function (k) {
        var i = el("i"); i.style.background = COLOURS[k];
        div.appendChild(el("div", {}, [i, T[k]]));
      });
      return div;
    };
    legend.addTo(map);
    [year, status, alarms].forEach(function (n) { n.addEventListener("change", draw); });

    function draw() {
      if (state.group) { state.group.remove(); }
      var group = L.featureGroup().addTo(map);
      state.group = group;
      var shown = state.features.filter(function (f) {
        var p = f.properties;
        var ry = (p.renovation && p.renovation.year) || p.renovated_year;
        if (year.value && String(ry) !== year.value) { return false; }
        if (status.value && colour(f) !== status.value) { return false; }
        if (alarms.checked && !((p.alarms || {}).active > 0)) { return false; }
        return true;
      });
      shown.forEach(function (f) {
        var c = COLOURS[colour(f)];
        var open = function () { openPanel(f); };
        if (f.geometry && f.geometry.type === "Polygon") {
          var outline = L.geoJSON(f, { style: { color: c, weight: 2, fillColor: c, fillOpacity: 0.35 } });
          outline.on("click", open).addTo(group);
          outline.eachLayer(function (l) { tag(l, f.id); });
        }
        var pt = f.properties.point || (f.geometry && f.geometry.type === "Point" ? f.geometry : null);
        if (pt) {
          var marker = L.circleMarker([pt.coordinates[1], pt.coordinates[0]], {
            radius: 6, color: (f.properties.alarms || {}).active > 0 ? "#b71c1c" : "#ffffff",
            weight: 2, fillColor: c, fillOpacity: 1
          }).bindTooltip(f.properties.name, { permanent: true, direction: "top", className: "name", offset: [0, -6] });
          marker.on("click", open).addTo(group);
          tag(marker, f.id);
        }
      });
      mapNode.setAttribute("data-communities", String(shown.length));
      count.textContent = T.shown + " " + shown.length + T.of + state.features.length;
    }

    function tag(layer, id) {
      var node = layer.getElement && layer.getElement();
      if (node) { node.setAttribute("data-community", String(id)); }
    }

    function load(bbox) {
      var q = "/v1/map/communities?crs=" + encodeURIComponent(crs) + (bbox ? "&bbox=" + bbox : "");
      api(q).then(function (r) {
        if (r.status === 401) { sessionStorage.removeItem(TOKEN); showLogin(); return; }
        var code = (r.body.error || {}).code;
        if (r.status === 422 && code === "geo.bbox_required" && !bbox) {
          var b = map.getBounds();
          load([b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (x) { return x.toFixed(5); }).join(","));
          return;
        }
        if (r.status !== 200) { count.textContent = T.loadFailed + ((r.body.error || {}).message || r.status); count.className = "count error"; return; }
        state.features = r.body.features;
        var years = {};
        state.features.forEach(function (f) {
          var ry = (f.properties.renovation && f.properties.renovation.year) || f.properties.renovated_year;
          if (ry) { years[ry] = true; }
        });
        Object.keys(years).sort().forEach(function (y) { year.appendChild(option(y, y)); });
        draw();
        if (state.group.getLayers().length) { map.fitBounds(state.group.getBounds(), { padding: [30, 30], animate: false }); }
        app.setAttribute("data-loaded", "1");
      });
    }
    load(null);

    function openPanel(f) {
      var p = f.properties;
      panel.innerHTML = "";
      var close = el("button", { "class": "close", title: T.close, text: "×", type: "button" });
      close.addEventListener("click", function () { panel.hidden = true; panel.removeAttribute("data-community"); });
      panel.appendChild(close);
      panel.appendChild(el("h2", { text: p.name }));
      var rows = [[T.address, p.address], [T.district, p.district], [T.built, p.built_year]];
      if (p.renovation) {
        rows.push([T.renovation, p.renovation.year], [T.classes, (p.renovation.classes || []).join("、")],
          [T.projects, p.renovation.projects]);
      }
      if (p.tickets) { rows.push([T.tickets, T.open + " " + p.tickets.open + " · " + T.overdue + " " + p.tickets.overdue]); }
      if (p.alarms) { rows.push([T.active, p.alarms.active]); }
      if (p.cameras) { rows.push([T.cameras, p.cameras.online + " / " + p.cameras.total]); }
      panel.appendChild(table(rows));
      if (p.people) {
        panel.appendChild(el("h3", { text: T.people }));
        panel.appendChild(table(["property_manager", "party_secretary", "committee_chair", "grid_worker"].map(function (k) {
          var who = p.people[k];
          return [T[k], who ? who.name + " " + who.phone : null];
        })));
      }
      if (p.kpi) {
        panel.appendChild(el("h3", { text: T.kpi + "（" + (p.kpi.period || T.none) + "）" }));
        var t = el("table");
        Object.keys(p.kpi.metrics || {}).forEach(function (m) {
          var x = p.kpi.metrics[m];
          t.appendChild(el("tr", {}, [el("td", { text: m }),
            el("td", { text: x.value === null ? T.none : x.value + "%" }),
            el("td", { text: "≥ " + x.target + "%" }),
            el("td", { "class": "status-" + x.status, text: T[x.status] || x.status })]));
        });
        panel.appendChild(t);
      }
      panel.setAttribute("data-community", String(f.id));
      panel.hidden = false;
      map.invalidateSize({ pan: false });
    }
  }

  function colour(f) {
    var c = (f.properties.kpi || {}).colour;
    return COLOURS[c] ? c : "grey";
  }

  function table(rows) {
    var t = el("table");
    rows.forEach(function (r) {
      t.appendChild(el("tr", {}, [el("th", { text: r[0] }), el("td", { text: r[1] === null || r[1] === undefined || r[1] === "" ? T.none : String(r[1]) })]));
    });
    return t;
  }

  if (sessionStorage.getItem(TOKEN)) { showMap(); } else { showLogin(); }
})();

/* Conditions fields: add and remove rows in place, and keep each row's tests
   and value field in step with what it tests. Without this script the same
   buttons submit the form and the server does the work. */
(function () {
  "use strict";

  function say(text, number) {
    return text.replace("{n}", String(number));
  }

  function setUp(root) {
    if (root.hasAttribute("data-fi-ready")) {
      return;
    }
    root.setAttribute("data-fi-ready", "");
    var config = JSON.parse(root.getAttribute("data-fi-conditions"));
    var list = root.querySelector("[data-fi-rows]");
    var template = root.querySelector("[data-fi-template]");
    var empty = root.querySelector("[data-fi-empty]");
    var status = root.querySelector("[data-fi-status]");
    var add = root.querySelector("[data-fi-add]");
    var next = 0;
    if (!add) {
      return;
    }

    function rows() {
      return Array.prototype.slice.call(list.querySelectorAll("[data-fi-row]"));
    }

    function part(row, name) {
      return row.querySelector("[data-fi-" + name + "]");
    }

    function announce(text) {
      status.textContent = text;
    }

    function renumber() {
      rows().forEach(function (row, position) {
        part(row, "legend").textContent = say(config.text.condition, position + 1);
        part(row, "remove-label").textContent = say(config.text.remove, position + 1);
      });
      empty.hidden = rows().length > 0;
    }

    function fillOperators(row) {
      var choice = config.choices[part(row, "choice").value];
      var select = part(row, "op");
      var names = choice ? choice.ops : config.order;
      var current = select.value;
      select.textContent = "";
      names.forEach(function (name) {
        var option = new Option(config.operators[name].label, name);
        option.selected = name === current;
        select.add(option);
      });
    }

    function valueControl(row, choice, takes) {
      var old = part(row, "value");
      var chosen = old.tagName === "SELECT"
        ? Array.prototype.map.call(old.selectedOptions, function (o) { return o.value; })
        : [];
      var control;
      if (choice && choice.options.length) {
        control = document.createElement("select");
        control.multiple = takes === "many";
        choice.options.forEach(function (pair) {
          var option = new Option(pair[1], pair[0]);
          option.selected = chosen.indexOf(pair[0]) !== -1;
          control.add(option);
        });
        if (control.multiple) {
          control.size = Math.min(choice.options.length, 4);
        }
      } else {
        control = document.createElement("input");
        control.type = "text";
        control.value = old.tagName === "INPUT" ? old.value : "";
      }
      ["id", "name", "class", "aria-describedby", "aria-invalid"].forEach(function (name) {
        if (old.hasAttribute(name)) {
          control.setAttribute(name, old.getAttribute(name));
        }
      });
      control.setAttribute("data-fi-value", "");
      old.replaceWith(control);
      return control;
    }

    function fitValue(row, rebuild) {
      var choice = config.choices[part(row, "choice").value];
      var operator = config.operators[part(row, "op").value];
      var takes = operator ? operator.takes : "one";
      var control = part(row, "value");
      var wantsMenu = Boolean(choice && choice.options.length);
      var isMenu = control.tagName === "SELECT";
      if (rebuild || wantsMenu !== isMenu || (isMenu && control.multiple !== (takes === "many"))) {
        control = valueControl(row, choice, takes);
      }
      if (control.tagName === "INPUT") {
        control.placeholder = takes === "many" ? config.text.commas : "";
      }
      part(row, "value-part").hidden = takes === "none";
      control.disabled = takes === "none";
    }

    function remove(row) {
      var after = row.nextElementSibling;
      row.remove();
      renumber();
      (after ? part(after, "choice") : add).focus();
      announce(config.text.removed);
    }

    function prepare(row) {
      var button = part(row, "remove");
      button.type = "button";
      button.addEventListener("click", function () {
        remove(row);
      });
      part(row, "choice").addEventListener("change", function () {
        fillOperators(row);
        fitValue(row, true);
      });
      part(row, "op").addEventListener("change", function () {
        fitValue(row, false);
      });
      fitValue(row, false);
      var index = /-(\d+)-choice$/.exec(part(row, "choice").name);
      next = Math.max(next, index ? Number(index[1]) + 1 : next);
    }

    function addRow() {
      var row = template.content.querySelector("[data-fi-row]").cloneNode(true);
      var index = String(next);
      row.querySelectorAll("[id], [name], [for], [data-fi-remove]").forEach(function (el) {
        ["id", "name", "for", "value"].forEach(function (name) {
          var value = el.getAttribute(name);
          if (value !== null) {
            el.setAttribute(name, value.split("__index__").join(index));
          }
        });
      });
      list.appendChild(row);
      prepare(row);
      renumber();
      part(row, "choice").focus();
      announce(say(config.text.added, rows().length));
    }

    rows().forEach(prepare);
    add.type = "button";
    add.addEventListener("click", addRow);
  }

  function setUpAll() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-fi-conditions]"), setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpAll);
  } else {
    setUpAll();
  }
}());

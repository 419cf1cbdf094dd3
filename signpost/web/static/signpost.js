// A little enhancement on top of pages that work without JavaScript.
import { initAll } from "/assets/nhsuk/nhsuk-frontend.min.js";

initAll();

// Template follow-ups: show or hide items as their enableWhen conditions say, without a round trip.
// Each conditional item carries data-enable-when='[{"question": linkId, "operator": "=", "answer": code}]'
// and data-enable-behavior ("any"|"all"); the server applies the same rules when the form is submitted.
function answersFor(form, linkId) {
  return Array.from(form.querySelectorAll(`[data-link-id="${CSS.escape(linkId)}"]`))
    .filter((input) => (input.type === "checkbox" || input.type === "radio" ? input.checked : input.value !== ""))
    .map((input) => input.value);
}

function conditionHolds(form, condition) {
  const answers = answersFor(form, condition.question);
  if (condition.operator === "exists") return (answers.length > 0) === (condition.answer === "true");
  if (condition.operator === "!=") return !answers.includes(condition.answer);
  return answers.includes(condition.answer);
}

function applyEnableWhen(form) {
  form.querySelectorAll("[data-enable-when]").forEach((item) => {
    const conditions = JSON.parse(item.dataset.enableWhen);
    const holds = item.dataset.enableBehavior !== "any"
      ? conditions.every((c) => conditionHolds(form, c))
      : conditions.some((c) => conditionHolds(form, c));
    item.hidden = !holds;
  });
}

document.querySelectorAll("form[data-questionnaire]").forEach((form) => {
  applyEnableWhen(form);
  form.addEventListener("change", () => applyEnableWhen(form));
  const refresh = form.querySelector("[data-refresh-button]");
  if (refresh) refresh.classList.add("sp-hidden-by-js");
});

// Copy the SMS text with one click.
document.querySelectorAll("[data-copy-target]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", async () => {
    const text = document.getElementById(button.dataset.copyTarget).value;
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      document.getElementById(button.dataset.copyTarget).select();
    }
  });
});

// "None of these" is exclusive (the server refuses both): ticking it clears the others, ticking another clears it.
document.querySelectorAll("form[data-questionnaire]").forEach((form) => {
  form.addEventListener("change", (event) => {
    const box = event.target;
    if (!(box instanceof HTMLInputElement) || box.type !== "checkbox" || !box.checked) return;
    const group = Array.from(form.querySelectorAll(`input[type="checkbox"][name="${CSS.escape(box.name)}"]`));
    const none = group.filter((input) => input.value === "none");
    if (!none.length) return;
    const others = box.value === "none" ? group.filter((input) => input !== box) : none;
    others.forEach((input) => {
      if (input.checked) {
        input.checked = false;
        input.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });
  });
});

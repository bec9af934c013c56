// The page: sign in, show the first project's tasks, and append its events as they happen.
import { client } from "./client";
import { BOARD, LOGIN, TASK_EVENTS } from "./operations";
import { accessToken, signIn } from "./session";

const $ = <T extends HTMLElement>(selector: string): T => {
  const found = document.querySelector<T>(selector);
  if (found === null) throw new Error(`no ${selector} on the page`);
  return found;
};

function item(text: string): HTMLLIElement {
  const li = document.createElement("li");
  li.textContent = text;
  return li;
}

async function showBoard(): Promise<void> {
  const { data } = await client.query({ query: BOARD, fetchPolicy: "network-only" });
  const project = data.projects.nodes[0];
  if (project === undefined) return;
  $("#project").textContent = `${project.key}: ${project.name}`;
  $("#tasks").replaceChildren(...project.tasks.nodes.map((t) => item(`${t.key} ${t.title} (${t.status})`)));
  client.subscribe({ query: TASK_EVENTS, variables: { projectId: project.id } }).subscribe({
    next: ({ data: event }) => {
      const e = event?.taskEvents;
      if (e) $("#events").append(item(`#${e.sequence ?? "-"} ${e.type} ${e.task?.key ?? e.taskId ?? ""}`));
    },
    error: (error: unknown) => $("#events").append(item(`subscription ended: ${String(error)}`)),
  });
}

$<HTMLFormElement>("#login").addEventListener("submit", (submitted) => {
  submitted.preventDefault();
  const form = new FormData(submitted.currentTarget as HTMLFormElement);
  const input = { email: String(form.get("email")), password: String(form.get("password")) };
  client
    .mutate({ mutation: LOGIN, variables: { input } })
    .then(({ data }) => {
      if (data) signIn(data.authLogin);
      return showBoard();
    })
    .catch((error: unknown) => alert(String(error)));
});

if (accessToken() !== null) void showBoard();

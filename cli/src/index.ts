export { main, reportError } from "./main.js";

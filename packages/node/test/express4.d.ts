// express 4, installed as `express4` (npm alias) next to express 5: typed as express (the
// `@types/express` the repo has), which covers what the tests call.
declare module 'express4' {
  import express from 'express';
  export default express;
}

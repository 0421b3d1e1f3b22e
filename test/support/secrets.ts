// The secrets the scenario tests give the edge. After the run, every log
// the edge wrote (test-logs/) is searched for them: none may appear.
export const TEST_SECRETS = {
  eslPassword: 'esl-Secret-7QzP1',
  wrongEslPassword: 'esl-Wrong-3vK9a',
  vertoPassword: 'verto-Secret-Kx29m',
  matrixToken: 'syt_edge_Secret_Wp93nB',
  matrixPassword: 'matrix-Secret-h4Lr8',
  drachtioSecret: 'drachtio-Secret-Zt83q',
  wrongDrachtioSecret: 'drachtio-Wrong-4Hd2s',
} as const;

/** `npm run ledger:check`: verifies every ledger invariant and prints what broke (see ledger-command.ts). */
import { formatReport } from '../modules/ledger/index.ts';
import { runLedgerCommand } from './ledger-command.ts';

runLedgerCommand({ name: 'ledger:check', serverPath: '/admin/ledger/invariants', run: (ledger) => ledger.checkInvariants(), format: formatReport });

/**
 * `npm run ledger:verify-chain`: re-hashes every account's chain of journal
 * entries, offline, and names the first broken link (see ledger-command.ts).
 */
import { formatChainReport } from '../modules/ledger/index.ts';
import { runLedgerCommand } from './ledger-command.ts';

runLedgerCommand({ name: 'ledger:verify-chain', serverPath: '/admin/ledger/chain', run: (ledger) => ledger.verifyChain(), format: formatChainReport });

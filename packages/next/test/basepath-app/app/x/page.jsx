import { Lane } from '../lane.jsx';

export default Lane;
